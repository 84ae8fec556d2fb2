"""Faults the soak injects, importable by maze-run, its env workers and Ray actors (benchmarks/ on PYTHONPATH)."""
from __future__ import annotations

import errno
import os
import signal
import time
from typing import Any, Dict

import numpy as np
import torch

from maze_cli import GymMazeEnv


class FaultyCartPole(GymMazeEnv):
    """CartPole that injects ``fault`` at its ``at``-th step in its process.

    ``raise``: the simulator raises; ``nan_reward`` / ``nan_observation``: it returns NaN from then on;
    ``hang``: the step sleeps for an hour; ``kill``: the process it runs in is SIGKILLed. With
    ``once_file`` only the first env to get there injects (it creates the file), so replacements run on.
    """

    def __init__(self, fault: str = "raise", at: int = 200, once_file: str = ""):
        super().__init__("CartPole-v1")
        self.fault, self.at, self.once_file = fault, at, once_file
        self.steps = 0

    def _inject_now(self) -> bool:
        if self.steps < self.at or (self.once_file and os.path.exists(self.once_file)):
            return False
        if self.once_file:
            open(self.once_file, "w").close()
        return True

    def step(self, action: Dict[str, Any]):
        self.steps += 1
        obs, reward, terminated, truncated, info = super().step(action)
        if self.fault in ("nan_reward", "nan_observation") and self.steps >= self.at:
            if self.fault == "nan_reward":
                reward = float("nan")
            else:
                obs = {"observation": np.full_like(obs["observation"], np.nan)}
        elif self._inject_now():
            if self.fault == "raise":
                raise RuntimeError(f"the simulator diverged at its step {self.steps}")
            if self.fault == "hang":
                time.sleep(3600)
            if self.fault == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
        return obs, reward, terminated, truncated, info


class FullDiskAfter:
    """A training-loop callback that makes every later checkpoint write fail with ENOSPC after ``epoch`` epochs
    (as a disk that filled up); files written before stay as they were."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if loop.epoch >= self.epoch and not getattr(torch.save, "full_disk", False):
            def full(*args: Any, **kwargs: Any) -> None:
                raise OSError(errno.ENOSPC, "No space left on device")
            full.full_disk = True  # type: ignore[attr-defined]
            torch.save = full
