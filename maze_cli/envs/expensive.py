"""A gymnasium env made artificially expensive: stands in for a slow simulator in benchmarks and tests."""
from __future__ import annotations

import time
from typing import Any, Dict, Optional

import numpy as np

from maze_cli.envs.gym_maze_env import GymMazeEnv


def burn_cpu(seconds: float) -> None:
    """Busy-work for ``seconds`` of this thread's CPU time (not wall time: waiting for a core is not counted)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class ExpensiveGymEnv(GymMazeEnv):
    """A gymnasium env whose every step additionally costs ``step_cost_ms`` of CPU time.

    The dynamics are the wrapped env's, so learning results stay comparable with the cheap env;
    only the price of a step changes, which is what decides between runners.

    :param env: gymnasium id of the env to wrap.
    :param step_cost_ms: CPU milliseconds burnt per step.
    :param step_cost_max_ms: if given, each step's cost is drawn uniformly from ``[step_cost_ms,
        step_cost_max_ms]`` (a simulator whose step time varies; the draws have their own generator, so the
        dynamics are unchanged).
    """

    def __init__(self, env: str = "CartPole-v1", step_cost_ms: float = 1.0, step_cost_max_ms: Optional[float] = None,
                 **make_kwargs: Any):
        if step_cost_ms < 0:
            raise ValueError(f"step_cost_ms={step_cost_ms!r} is invalid: expected a value >= 0")
        if step_cost_max_ms is not None and step_cost_max_ms < step_cost_ms:
            raise ValueError(f"step_cost_max_ms={step_cost_max_ms!r} is invalid: expected a value >= step_cost_ms "
                             f"({step_cost_ms})")
        super().__init__(env, **make_kwargs)
        self.step_cost_ms, self.step_cost_max_ms = step_cost_ms, step_cost_max_ms
        self._costs = np.random.default_rng()

    def step(self, action: Dict[str, Any]):
        cost = self.step_cost_ms if self.step_cost_max_ms is None else self._costs.uniform(self.step_cost_ms,
                                                                                           self.step_cost_max_ms)
        burn_cpu(cost / 1000.0)
        return super().step(action)

    def __repr__(self) -> str:
        spread = "" if self.step_cost_max_ms is None else f"-{self.step_cost_max_ms}"
        return f"ExpensiveGymEnv({self.gym_id}, step_cost_ms={self.step_cost_ms}{spread})"
