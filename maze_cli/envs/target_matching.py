"""TargetMatchingEnv: a small env with a Dict action space, for checking composite actions end to end.

Every step shows random targets, one per action head, and pays for how well each head's action
matches its target. The optimal policy is easy to state (copy the targets), a random policy's
expected reward is known in closed form, and each head only learns if its own distribution,
network head and log-prob are wired correctly.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import gymnasium as gym
import numpy as np

from maze_cli.envs.maze_env import MazeEnv


class TargetMatchingEnv(MazeEnv):
    """Copy-the-target task over up to four action heads; reward = sum of the heads' scores per step.

    ========== ======================== ======================================= ======================
    head       action space             score in [0, 1]                         random policy's mean
    ========== ======================== ======================================= ======================
    choice     Discrete(n_choices)      1 if equal to the target                ``1 / n_choices``
    force      Box(-1, 1, (box_dim,))   mean of ``max(0, 1 - |a - target|)``    5/12
    selection  MultiDiscrete(nvec)      fraction of entries equal to the target ``mean(1 / nvec)``
    switches   MultiBinary(n_switches)  fraction of bits equal to the target    1/2
    ========== ======================== ======================================= ======================

    Heads of size 0 are left out. Observations carry the targets under the head names (Discrete,
    Box, MultiDiscrete and MultiBinary observation keys).

    :param n_choices: options of the ``choice`` head (0: no such head).
    :param box_dim: dimensions of the ``force`` head (0: no such head).
    :param nvec: options per entry of the ``selection`` head (empty: no such head).
    :param n_switches: bits of the ``switches`` head (0: no such head).
    :param episode_length: steps per episode (episodes end by truncation).
    """

    def __init__(self, n_choices: int = 3, box_dim: int = 1, nvec: Sequence[int] = (), n_switches: int = 0,
                 episode_length: int = 10):
        spaces: Dict[str, gym.Space] = {}
        if n_choices:
            spaces["choice"] = gym.spaces.Discrete(n_choices)
        if box_dim:
            spaces["force"] = gym.spaces.Box(-1.0, 1.0, shape=(box_dim,), dtype=np.float32)
        if len(nvec):
            spaces["selection"] = gym.spaces.MultiDiscrete(list(nvec))
        if n_switches:
            spaces["switches"] = gym.spaces.MultiBinary(n_switches)
        if not spaces:
            raise ValueError("TargetMatchingEnv: every head has size 0; expected at least one action head")
        if episode_length < 1:
            raise ValueError(f"TargetMatchingEnv: episode_length={episode_length}, expected >= 1")
        self.observation_spaces_dict = {0: gym.spaces.Dict(spaces)}
        self.action_spaces_dict = {0: gym.spaces.Dict(spaces)}
        self.episode_length = episode_length
        self._target: Dict[str, Any] = {}
        self._t = 0

    def random_policy_reward(self) -> float:
        """Expected reward per step of uniformly random actions (see the table above)."""
        expected = {"choice": lambda s: 1.0 / s.n, "force": lambda s: 5.0 / 12.0,
                    "selection": lambda s: float(np.mean(1.0 / np.asarray(s.nvec))), "switches": lambda s: 0.5}
        return float(sum(expected[key](space) for key, space in self.action_spaces_dict[0].spaces.items()))

    def _new_target(self) -> Dict[str, Any]:
        self._target = self.observation_spaces_dict[0].sample()
        return {key: np.copy(value) for key, value in self._target.items()}

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is not None:
            self.observation_spaces_dict[0].seed(seed)
        self._t = 0
        return self._new_target(), {}

    def _score(self, key: str, action: Any) -> float:
        target = self._target[key]
        if key == "force":
            error = np.abs(np.asarray(action, dtype=np.float64) - target)
            return float(np.mean(np.maximum(0.0, 1.0 - error)))
        return float(np.mean(np.asarray(action).astype(np.int64) == np.asarray(target).astype(np.int64)))

    def step(self, action: Dict[str, Any]):
        reward = sum(self._score(key, action[key]) for key in self._target)
        self._t += 1
        return self._new_target(), reward, False, self._t >= self.episode_length, {}
