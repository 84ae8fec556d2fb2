"""The replay buffer of off-policy algorithms: preallocated ring storage of transitions, sampled in one gather.

Observations keep the dtype the observation converter gives them (``uint8`` images stay ``uint8``).
``terminated`` is stored apart from episode ends: a time-limit truncation stores the final observation
as ``next_observations`` and ``terminated=False``, so the target bootstraps from it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Union

import torch

from maze_cli.core.io import atomic_write
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.checkpoint import CheckpointError, load_checkpoint

TensorDict = Dict[str, torch.Tensor]
FIELDS = ("observations", "actions", "next_observations")


class ReplayBuffer:
    """Holds the last ``capacity`` transitions; storage is allocated from the first batch's shapes and dtypes.

    :param capacity: transitions kept (the oldest are overwritten first).
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self.storage: Optional[Dict[str, TensorDict]] = None
        self.rewards = torch.zeros(self.capacity)
        self.terminated = torch.zeros(self.capacity)
        self.position = 0  # where the next transition goes
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add_rollout(self, batch: RolloutBatch) -> None:
        """Adds the valid transitions of a one-actor rollout (reset steps of NEXT_STEP autoreset are skipped)."""
        if batch.next_observations is None:
            raise ValueError("replay buffer: the rollout has no next observations (collect with "
                             "store_next_observations=True)")
        mask = batch.valid
        self.add({"observations": {k: v[mask] for k, v in batch.observations[0].items()},
                  "actions": {k: v[mask] for k, v in batch.actions[0].items()},
                  "next_observations": {k: v[mask] for k, v in batch.next_observations[0].items()}},
                 batch.rewards[mask], batch.terminated[mask])

    def add(self, transitions: Dict[str, TensorDict], rewards: torch.Tensor, terminated: torch.Tensor) -> None:
        """Writes ``n`` transitions (leading dim ``n``) at the ring position, wrapping around."""
        n = int(rewards.shape[0])
        if n == 0:
            return
        if self.storage is None:
            self.storage = {name: {key: torch.zeros((self.capacity,) + tuple(value.shape[1:]), dtype=value.dtype)
                                   for key, value in transitions[name].items()} for name in FIELDS}
        if n > self.capacity:  # only the newest transitions fit
            transitions = {name: {k: v[-self.capacity:] for k, v in d.items()} for name, d in transitions.items()}
            rewards, terminated, n = rewards[-self.capacity:], terminated[-self.capacity:], self.capacity
        index = (torch.arange(n) + self.position) % self.capacity
        for name in FIELDS:
            for key, value in transitions[name].items():
                self.storage[name][key][index] = value.detach().to("cpu", self.storage[name][key].dtype)
        self.rewards[index] = rewards.detach().cpu().float()
        self.terminated[index] = terminated.detach().cpu().float()
        self.position = (self.position + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, device: Union[str, torch.device] = "cpu") -> Dict[str, object]:
        """``batch_size`` transitions drawn uniformly with replacement (torch's RNG), moved to ``device``."""
        if self.size == 0:
            raise ValueError("replay buffer: cannot sample from an empty buffer")
        index = torch.randint(self.size, (batch_size,))
        out: Dict[str, object] = {name: {k: v[index].to(device) for k, v in self.storage[name].items()}
                                  for name in FIELDS}
        out["rewards"] = self.rewards[index].to(device)
        out["terminated"] = self.terminated[index].to(device)
        return out

    def state_dict(self) -> Dict[str, object]:
        """The filled part of the buffer in insertion order plus the ring position (tensors only)."""
        order = torch.arange(self.size) if self.size < self.capacity else \
            (torch.arange(self.capacity) + self.position) % self.capacity
        return {"storage": {name: {k: v[order] for k, v in d.items()} for name, d in (self.storage or {}).items()},
                "rewards": self.rewards[order], "terminated": self.terminated[order], "capacity": self.capacity}

    def load_state_dict(self, state: Dict[str, object]) -> None:
        self.__init__(self.capacity)
        storage = state["storage"]
        if storage:
            self.add(storage, state["rewards"], state["terminated"])

    def save(self, path: Union[str, Path]) -> None:
        """Writes the buffer atomically: a failure leaves the previous file intact."""
        state = self.state_dict()
        atomic_write(path, lambda tmp: torch.save(state, tmp))

    def load(self, path: Union[str, Path]) -> None:
        try:
            self.load_state_dict(load_checkpoint(path))
        except (KeyError, TypeError) as err:
            raise CheckpointError(f"replay buffer {path}: not a replay buffer file ({err})") from None
