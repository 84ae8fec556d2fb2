"""Every actor of a run's policy as a TorchScript or ONNX file, with a signature file naming inputs and outputs."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Dict, List

import gymnasium as gym
import numpy as np
import torch

from maze_cli.core.io import WriteError, atomic_write
from maze_cli.envs.maze_env import ActorID
from maze_cli.export.actor import DeterministicActor
from maze_cli.models.policy import TorchPolicy

SIGNATURE_FILE = "policy_signature.json"


SUFFIXES = {"torchscript": ".pt", "onnx": ".onnx"}


def actor_file(actor_id: ActorID, n_actors: int, fmt: str = "torchscript") -> str:
    """``policy.pt`` (``.onnx``) for an ordinary env, ``policy_<sub-step>_<agent>.pt`` per actor of a structured one."""
    stem = "policy" if n_actors == 1 else f"policy_{actor_id[0]}_{actor_id[1]}"
    return stem + SUFFIXES[fmt]


class _Positional(torch.nn.Module):
    """The actor with one positional input per observation key and one output per head (ONNX has no dicts)."""

    def __init__(self, actor: DeterministicActor, keys: List[str], heads: List[str]):
        super().__init__()
        self.actor, self.keys, self.heads = actor, keys, heads

    def forward(self, *inputs: torch.Tensor):
        actions = self.actor(dict(zip(self.keys, inputs)))
        return tuple(actions[head] for head in self.heads)


def _write_onnx(actor: DeterministicActor, example: Dict[str, torch.Tensor], heads: List[str], path: Path) -> None:
    """ONNX with named inputs/outputs and a dynamic batch axis (the TorchScript-based exporter: the
    torch.export-based one cannot capture the distribution code)."""
    keys = list(example)
    axes = {name: {0: "batch"} for name in keys + heads}
    atomic_write(path, lambda tmp: torch.onnx.export(_Positional(actor, keys, heads), tuple(example.values()), tmp,
                                                     input_names=keys, output_names=heads, dynamic_axes=axes,
                                                     dynamo=False))


def _write_torchscript(actor: DeterministicActor, example: Dict[str, torch.Tensor], path: Path) -> None:
    traced = torch.jit.trace(actor, (example,), strict=False, check_trace=False)
    atomic_write(path, lambda tmp: traced.save(tmp))


def _space_entry(space: gym.Space) -> Dict[str, Any]:
    return {"space": str(space), "dtype": str(np.dtype(space.dtype)), "shape": ["batch", *space.shape]}


def export_actor(policy: TorchPolicy, actor_id: ActorID, path: Path, fmt: str = "torchscript") -> Dict[str, Any]:
    """Traces one actor into ``path`` (``fmt``: torchscript or onnx); returns its signature entry. A network
    that cannot be traced fails naming it and the cause."""
    space = policy.converters[actor_id[0]].space
    actor = DeterministicActor(policy, actor_id).eval()
    inputs = [key for key in policy.converters[actor_id[0]].shapes]
    raw = [space.sample() for _ in range(2)]
    example = {key: torch.as_tensor(np.stack([r[key] for r in raw])) for key in inputs}
    for key in policy.mask_keys[actor_id[0]].values():  # a random mask may allow nothing
        example[key] = torch.ones_like(example[key])
    network = policy.network_key(actor_id)
    action_space = policy.distribution_mappers[actor_id[0]].action_space
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the space bounds and one-hot sizes the tracer records as constants are constants
            warnings.simplefilter("ignore")
            if fmt == "onnx":
                _write_onnx(actor, example, list(action_space.spaces), path)
            else:
                _write_torchscript(actor, example, path)
    except WriteError:
        raise
    except Exception as err:  # tracing fails in many ways; one message naming the network
        raise ValueError(f"export: the policy network {network!r} ({type(policy.networks[network]).__name__}) "
                         f"cannot be traced to {fmt}: {type(err).__name__}: {err}. Networks with "
                         f"data-dependent Python control flow cannot be traced") from None
    return {"file": path.name, "actor": list(actor_id),
            "inputs": {key: _space_entry(space.spaces[key]) for key in inputs},
            "outputs": {head: _space_entry(sub) for head, sub in action_space.spaces.items()}}


CALLS = {"torchscript": "torch.jit.load(file)({key: tensor with a batch dimension}) -> {action head: tensor}",
         "onnx": "onnxruntime.InferenceSession(file).run(None, {key: array with a batch dimension}) -> "
                 "[array per action head, in outputs order]"}


def export_policy(policy: TorchPolicy, actor_ids: List[ActorID], out_dir: Path, run_dir: str,
                  fmt: str = "torchscript") -> Path:
    """Every actor of ``policy`` as ``fmt`` files in ``out_dir`` plus ``policy_signature.json``; returns the latter."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = [export_actor(policy, actor, out_dir / actor_file(actor, len(actor_ids), fmt), fmt)
               for actor in actor_ids]
    signature = {"format": fmt, "run": run_dir, "deterministic": True, "call": CALLS[fmt], "actors": entries}
    text = json.dumps(signature, indent=2)
    atomic_write(out_dir / SIGNATURE_FILE, lambda tmp: Path(tmp).write_text(text))
    return out_dir / SIGNATURE_FILE
