"""Small structured envs and models for the structured-env tests (importable by worker processes and the CLI)."""
from __future__ import annotations

from typing import Dict, List, Optional

import gymnasium as gym
import numpy as np
import torch

from maze_cli.envs.maze_env import MazeEnv


class ScriptedEnv(MazeEnv):
    """Two sub-steps with different observation spaces; everything is scripted, so returns can be hand-computed.

    Decision ``k`` of an episode (k = 0, 1, 2, ...) observes ``v = k + 1``; sub-steps alternate
    0, 1, 0, 1, ... Sub-step 0's step returns reward ``reward_0``, sub-step 1's step (which ends
    the flat step) returns ``reward_1``. After ``flat_steps`` flat steps the episode is truncated
    (or terminated with ``terminate=True``); its final observation then has ``v = 2 * flat_steps + 1``.
    """

    def __init__(self, flat_steps: int = 2, terminate: bool = False, reward_0: float = 1.0, reward_1: float = 10.0):
        self.flat_steps, self.terminate = flat_steps, terminate
        self.rewards = (reward_0, reward_1)
        self.observation_spaces_dict = {
            0: gym.spaces.Dict({"v": gym.spaces.Box(0, 100, shape=(1,), dtype=np.float32),
                                "x": gym.spaces.Box(-1, 1, shape=(2,), dtype=np.float32)}),
            1: gym.spaces.Dict({"v": gym.spaces.Box(0, 100, shape=(1,), dtype=np.float32),
                                "y": gym.spaces.Discrete(3)}),
        }
        self.action_spaces_dict = {0: gym.spaces.Dict({"choice": gym.spaces.Discrete(2)}),
                                   1: gym.spaces.Dict({"amount": gym.spaces.Box(-1, 1, shape=(1,), dtype=np.float32)})}
        self.k = 0

    def actor_id(self):
        return self.k % 2, 0

    def _obs(self) -> Dict[str, np.ndarray]:
        v = np.array([self.k + 1], dtype=np.float32)
        if self.k % 2 == 0:
            return {"v": v, "x": np.array([0.5, -0.5], dtype=np.float32)}
        return {"v": v, "y": np.int64(self.k % 3)}

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        self.k = 0
        return self._obs(), {}

    def step(self, action):
        step = self.k % 2
        self.k += 1
        done = self.k == 2 * self.flat_steps
        obs = self._obs()
        return (obs, self.rewards[step], done and self.terminate, done and not self.terminate,
                {"flat_step_done": step == 1})


class ObsValue(torch.nn.Module):
    """A value 'network' whose value is the observation's ``v`` (or a stacked input's sub-step-0 ``v``)."""

    def __init__(self, key: str = "v"):
        super().__init__()
        self.key = key
        self.scale = torch.nn.Parameter(torch.ones(()))  # one parameter, so optimizers accept it

    def forward(self, x):
        return {"value": x[self.key] * self.scale}


class MultiAgentEnv(MazeEnv):
    """Sub-step 0 (one agent), then sub-step 1 with agents 0 and 1 in turn; reward = the chosen action.

    Episodes end after ``episode_decisions`` decisions, which need not complete a flat step, so envs
    with different lengths drift apart and a vector env holds envs waiting for different actors.
    ``log`` records every (actor, action) the env received.
    """

    ORDER = [(0, 0), (1, 0), (1, 1)]

    def __init__(self, episode_decisions: int = 4):
        self.episode_decisions = episode_decisions
        self.observation_spaces_dict = {0: gym.spaces.Dict({"a": gym.spaces.Box(0, 1, shape=(3,), dtype=np.float32)}),
                                        1: gym.spaces.Dict({"b": gym.spaces.Box(0, 1, shape=(2,), dtype=np.float32)})}
        self.action_spaces_dict = {0: gym.spaces.Dict({"pick": gym.spaces.Discrete(3)}),
                                   1: gym.spaces.Dict({"pick": gym.spaces.Discrete(2)})}
        self.decisions = 0
        self.log: List = []

    @property
    def agent_counts_dict(self):
        return {0: 1, 1: 2}

    def actor_id(self):
        return self.ORDER[self.decisions % 3]

    def _obs(self):
        fill = 0.1 * (self.decisions % 3)
        return {"a": np.full(3, fill, dtype=np.float32)} if self.actor_id()[0] == 0 \
            else {"b": np.full(2, fill, dtype=np.float32)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.decisions = 0
        return self._obs(), {}

    def step(self, action):
        self.log.append((self.actor_id(), int(action["pick"])))
        self.decisions += 1
        flat_done = self.decisions % 3 == 0
        return (self._obs(), float(action["pick"]), self.decisions == self.episode_decisions, False,
                {"flat_step_done": flat_done})


class FixedChoice(torch.nn.Module):
    """A policy 'network' that always strongly prefers action ``choice`` of an ``n``-way head ``pick``."""

    def __init__(self, choice: int, n: int):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.full((n,), -20.0).index_fill(0, torch.tensor(choice), 20.0))

    def forward(self, x):
        batch = next(iter(x.values())).shape[0]
        return {"pick": self.logits.expand(batch, -1)}


class FailingEnv(ScriptedEnv):
    """Raises in the step number ``fail_at`` (counted over its lifetime)."""

    def __init__(self, fail_at: int = 3):
        super().__init__()
        self.fail_at, self.calls = fail_at, 0

    def step(self, action):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("conveyor jammed")
        return super().step(action)
