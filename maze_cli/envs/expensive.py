"""A gymnasium env made artificially expensive: stands in for a slow simulator in benchmarks and tests."""
from __future__ import annotations

import time
from typing import Any, Dict

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
    """

    def __init__(self, env: str = "CartPole-v1", step_cost_ms: float = 1.0, **make_kwargs: Any):
        if step_cost_ms < 0:
            raise ValueError(f"step_cost_ms={step_cost_ms!r} is invalid: expected a value >= 0")
        super().__init__(env, **make_kwargs)
        self.step_cost_ms = step_cost_ms

    def step(self, action: Dict[str, Any]):
        burn_cpu(self.step_cost_ms / 1000.0)
        return super().step(action)

    def __repr__(self) -> str:
        return f"ExpensiveGymEnv({self.gym_id}, step_cost_ms={self.step_cost_ms})"
