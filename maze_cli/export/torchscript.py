"""TorchScript export of every actor of a run's policy, with a signature file naming inputs and outputs."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Dict, List

import gymnasium as gym
import numpy as np
import torch

from maze_cli.core.io import atomic_write
from maze_cli.envs.maze_env import ActorID
from maze_cli.export.actor import DeterministicActor
from maze_cli.models.policy import TorchPolicy

SIGNATURE_FILE = "policy_signature.json"


def actor_file(actor_id: ActorID, n_actors: int) -> str:
    """``policy.pt`` for an ordinary env, ``policy_<sub-step>_<agent>.pt`` per actor of a structured one."""
    return "policy.pt" if n_actors == 1 else f"policy_{actor_id[0]}_{actor_id[1]}.pt"


def _space_entry(space: gym.Space) -> Dict[str, Any]:
    return {"space": str(space), "dtype": str(np.dtype(space.dtype)), "shape": ["batch", *space.shape]}


def export_actor(policy: TorchPolicy, actor_id: ActorID, path: Path) -> Dict[str, Any]:
    """Traces one actor into ``path``; returns its signature entry. A network that cannot be traced fails
    naming it and the cause."""
    space = policy.converters[actor_id[0]].space
    actor = DeterministicActor(policy, actor_id).eval()
    inputs = [key for key in policy.converters[actor_id[0]].shapes]
    raw = [space.sample() for _ in range(2)]
    example = {key: torch.as_tensor(np.stack([r[key] for r in raw])) for key in inputs}
    for key in policy.mask_keys[actor_id[0]].values():  # a random mask may allow nothing
        example[key] = torch.ones_like(example[key])
    network = policy.network_key(actor_id)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the space bounds and one-hot sizes the tracer records as constants are constants
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            traced = torch.jit.trace(actor, (example,), strict=False, check_trace=False)
    except Exception as err:  # tracing fails in many ways; one message naming the network
        raise ValueError(f"export: the policy network {network!r} ({type(policy.networks[network]).__name__}) "
                         f"cannot be traced to TorchScript: {type(err).__name__}: {err}. Networks with "
                         f"data-dependent Python control flow need torch.jit.script-able code") from None
    atomic_write(path, lambda tmp: traced.save(tmp))
    action_space = policy.distribution_mappers[actor_id[0]].action_space
    return {"file": path.name, "actor": list(actor_id),
            "inputs": {key: _space_entry(space.spaces[key]) for key in inputs},
            "outputs": {head: _space_entry(sub) for head, sub in action_space.spaces.items()}}


def export_policy(policy: TorchPolicy, actor_ids: List[ActorID], out_dir: Path, run_dir: str) -> Path:
    """Every actor of ``policy`` as TorchScript in ``out_dir`` plus ``policy_signature.json``; returns the latter."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = [export_actor(policy, actor, out_dir / actor_file(actor, len(actor_ids))) for actor in actor_ids]
    signature = {"format": "torchscript", "run": run_dir, "deterministic": True,
                 "call": "torch.jit.load(file)({key: tensor with a batch dimension}) -> {action head: tensor}",
                 "actors": entries}
    text = json.dumps(signature, indent=2)
    atomic_write(out_dir / SIGNATURE_FILE, lambda tmp: Path(tmp).write_text(text))
    return out_dir / SIGNATURE_FILE
