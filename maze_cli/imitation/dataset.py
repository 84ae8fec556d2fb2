"""Trajectory datasets: recorded episodes as ``.npz`` shards plus a ``manifest.json``, readable with numpy alone.

A dataset is a directory::

    manifest.json          format, env, spaces (as strings), episode count, returns, lengths, shard list
    shard_00000.npz        the decisions of some whole episodes, in the order they were taken
    ...

Each shard holds one row per decision (one ``env.step`` call; structured envs take several per flat step):

- ``episode`` (int64, dataset-wide episode index), ``sub_step`` and ``agent`` (int64: the actor that decided),
  ``reward`` (float64), ``terminated`` and ``truncated`` (bool): aligned with each other;
- ``observations/<sub_step>/<key>`` and ``actions/<sub_step>/<head>``: the observations and env actions of the
  rows whose ``sub_step`` is that sub-step, in row order, with the spaces' dtypes (uint8 images stay uint8).

``np.load("shard_00000.npz")["observations/0/observation"]`` is all a reader needs; no maze_cli import.
Each shard and the manifest are written atomically, the manifest last, so a dataset is either complete
or has no manifest.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np

from maze_cli.core.io import atomic_write

MANIFEST = "manifest.json"
FORMAT = "maze_cli.trajectories/1"
ROW_KEYS = ("episode", "sub_step", "agent", "reward", "terminated", "truncated")


class DatasetError(ValueError):
    """A trajectory dataset is missing, empty, corrupt or does not fit the env; the message names the file."""


def space_strings(spaces: Mapping[int, Any]) -> Dict[str, str]:
    """``{sub-step: str(space)}``: how the manifest records spaces, and how they are compared."""
    return {str(step): str(space) for step, space in sorted(spaces.items())}


class TrajectoryWriter:
    """Collects decisions episode by episode and writes a shard every ``episodes_per_shard`` episodes.

    :param directory: the dataset directory (created; an existing manifest there is refused).
    :param env_name: what the manifest calls the env.
    :param observation_spaces_dict: ``{sub-step: Dict space}`` of the env.
    :param action_spaces_dict: ``{sub-step: Dict space}`` of the env.
    :param episodes_per_shard: whole episodes per ``.npz`` shard.
    """

    def __init__(self, directory: Union[str, Path], env_name: str, observation_spaces_dict: Mapping[int, Any],
                 action_spaces_dict: Mapping[int, Any], episodes_per_shard: int = 100):
        self.directory = Path(directory)
        if (self.directory / MANIFEST).exists():
            raise DatasetError(f"{self.directory / MANIFEST} exists: record into a new directory")
        self.observation_spaces, self.action_spaces = dict(observation_spaces_dict), dict(action_spaces_dict)
        self.env_name, self.episodes_per_shard = env_name, episodes_per_shard
        self.shards: List[Dict[str, Any]] = []
        self.returns: List[float] = []
        self.lengths: List[int] = []
        self._rows: List[Tuple[int, int, int, float, bool, bool]] = []
        self._obs: Dict[int, List[Mapping[str, Any]]] = {}
        self._actions: Dict[int, List[Mapping[str, Any]]] = {}
        self._episode_return, self._episode_rows = 0.0, 0
        self._shard_episodes = 0

    def add(self, actor_id: Tuple[int, int], observation: Mapping[str, Any], action: Mapping[str, Any],
            reward: float, terminated: bool, truncated: bool) -> None:
        """One decision; ``terminated or truncated`` ends the episode."""
        step, agent = int(actor_id[0]), int(actor_id[1])
        self._rows.append((len(self.returns), step, agent, float(reward), bool(terminated), bool(truncated)))
        self._obs.setdefault(step, []).append(observation)
        self._actions.setdefault(step, []).append(action)
        self._episode_return += float(reward)
        self._episode_rows += 1
        if terminated or truncated:
            self.returns.append(self._episode_return)
            self.lengths.append(self._episode_rows)
            self._episode_return, self._episode_rows = 0.0, 0
            self._shard_episodes += 1
            if self._shard_episodes >= self.episodes_per_shard:
                self._write_shard()

    def _write_shard(self) -> None:
        if not self._rows:
            return
        columns = list(zip(*self._rows))
        dtypes = (np.int64, np.int64, np.int64, np.float64, bool, bool)
        arrays = {key: np.asarray(column, dtype=dtype) for key, column, dtype in zip(ROW_KEYS, columns, dtypes)}
        for step, observations in self._obs.items():
            if not observations:
                continue
            for key, space in self.observation_spaces[step].spaces.items():
                arrays[f"observations/{step}/{key}"] = np.stack(
                    [np.asarray(obs[key], dtype=space.dtype) for obs in observations])
        for step, actions in self._actions.items():
            if not actions:
                continue
            for head, space in self.action_spaces[step].spaces.items():
                arrays[f"actions/{step}/{head}"] = np.stack(
                    [np.asarray(action[head], dtype=space.dtype) for action in actions])
        name = f"shard_{len(self.shards):05d}.npz"
        atomic_write(self.directory / name, lambda tmp: _savez(tmp, arrays))
        self.shards.append({"file": name, "episodes": self._shard_episodes, "decisions": len(self._rows)})
        self._rows, self._obs, self._actions, self._shard_episodes = [], {}, {}, 0

    def close(self) -> Path:
        """Writes the last shard and the manifest (an unfinished episode is dropped); returns the directory."""
        for _ in range(self._episode_rows):
            step = self._rows.pop()[1]
            self._obs[step].pop()
            self._actions[step].pop()
        self._write_shard()
        manifest = {"format": FORMAT, "env": self.env_name,
                    "observation_spaces": space_strings(self.observation_spaces),
                    "action_spaces": space_strings(self.action_spaces),
                    "episodes": len(self.returns), "decisions": sum(s["decisions"] for s in self.shards),
                    "returns": self.returns, "lengths": self.lengths, "shards": self.shards}
        text = json.dumps(manifest, indent=1)
        atomic_write(self.directory / MANIFEST, lambda tmp: Path(tmp).write_text(text))
        return self.directory


def _savez(path: str, arrays: Dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:  # a file object: np.savez would append ".npz" to a temporary name
        np.savez_compressed(handle, **arrays)


@dataclass
class Trajectories:
    """A loaded dataset: the row arrays, and per sub-step the observations and actions of its rows.

    :attr rows: ``{row key: array}`` (see the module docstring), all shards concatenated.
    :attr observations: ``{sub-step: {key: array}}`` aligned with ``rows["sub_step"] == sub-step``.
    :attr actions: ``{sub-step: {head: array}}``, aligned likewise.
    """

    manifest: Dict[str, Any]
    rows: Dict[str, np.ndarray]
    observations: Dict[int, Dict[str, np.ndarray]] = field(default_factory=dict)
    actions: Dict[int, Dict[str, np.ndarray]] = field(default_factory=dict)


def read_manifest(directory: Union[str, Path]) -> Dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"dataset {directory}: no {MANIFEST} there; expected the directory a recording wrote "
                           f"(maze-run -cn rollout ... record=true)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DatasetError(f"dataset manifest {path} is unreadable: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetError(f"dataset manifest {path}: expected format {FORMAT!r}, got "
                           f"{manifest.get('format') if isinstance(manifest, dict) else manifest!r}")
    return manifest


def _read_shard(path: Path, decisions: int) -> Dict[str, np.ndarray]:
    """Every array of one shard, read eagerly so a truncated or corrupt file fails here, naming it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise DatasetError(f"dataset shard {path} is missing (listed in {MANIFEST})") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise DatasetError(f"dataset shard {path} is corrupt or truncated ({type(err).__name__}: {err}); "
                           f"record it again or remove it from {MANIFEST}") from None
    missing = [key for key in ROW_KEYS if key not in arrays]
    if missing or len(arrays["episode"]) != decisions:
        raise DatasetError(f"dataset shard {path}: expected {decisions} decisions with arrays {list(ROW_KEYS)}, "
                           f"got {len(arrays.get('episode', []))} rows and arrays {sorted(arrays)}")
    return arrays


def load_trajectories(directories: Union[str, Path, Sequence[Union[str, Path]]]) -> Trajectories:
    """One or several datasets (same spaces) concatenated; episode indices stay distinct across datasets."""
    paths = [Path(directories)] if isinstance(directories, (str, Path)) else [Path(d) for d in directories]
    if not paths:
        raise DatasetError("no dataset given: expected a directory holding manifest.json, or a list of them")
    manifests = [read_manifest(path) for path in paths]
    for path, manifest in zip(paths[1:], manifests[1:]):
        for spaces in ("observation_spaces", "action_spaces"):
            if manifest[spaces] != manifests[0][spaces]:
                raise DatasetError(f"dataset {path}: its {spaces} {manifest[spaces]} differ from those of "
                                   f"{paths[0]} {manifests[0][spaces]}")
    parts: List[Dict[str, np.ndarray]] = []
    offset = 0
    for path, manifest in zip(paths, manifests):
        for shard in manifest["shards"]:
            arrays = _read_shard(path / shard["file"], int(shard["decisions"]))
            arrays["episode"] = arrays["episode"] + offset
            parts.append(arrays)
        offset += int(manifest["episodes"])
    merged = dict(manifests[0], episodes=offset, returns=[r for m in manifests for r in m["returns"]],
                  lengths=[n for m in manifests for n in m["lengths"]], sources=[str(p) for p in paths])
    rows = {key: np.concatenate([part[key] for part in parts]) if parts else np.zeros(0) for key in ROW_KEYS}
    data = Trajectories(manifest=merged, rows=rows)
    keys = sorted({key for part in parts for key in part if key not in ROW_KEYS})
    for key in keys:
        kind, step, name = key.split("/", 2)
        target = data.observations if kind == "observations" else data.actions
        target.setdefault(int(step), {})[name] = np.concatenate([part[key] for part in parts if key in part])
    return data


def check_spaces(manifest: Mapping[str, Any], observation_spaces_dict: Mapping[int, Any],
                 action_spaces_dict: Mapping[int, Any], where: str) -> None:
    """Raise naming the dataset and the first differing sub-step if it was recorded in other spaces."""
    for kind, spaces in (("observation_spaces", observation_spaces_dict), ("action_spaces", action_spaces_dict)):
        recorded, expected = manifest[kind], space_strings(spaces)
        for step in sorted(set(recorded) | set(expected)):
            if recorded.get(step) != expected.get(step):
                raise DatasetError(f"{where}: recorded with {kind[:-1].replace('_', ' ')} {recorded.get(step)} at "
                                   f"sub-step {step}, but the env has {expected.get(step)}")


def episode_split(n_episodes: int, validation_split: float, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """``(training, validation)`` episode indices: a seeded shuffle, so resume and reruns hold out the same."""
    order = np.random.default_rng(seed).permutation(n_episodes)
    n_validation = int(round(n_episodes * validation_split))
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])

