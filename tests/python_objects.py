"""Importable env factory and networks for tests of Python-built runs that maze-run replays."""
from typing import Dict, Sequence

import gymnasium as gym
import numpy as np
import torch

from maze_cli import GymMazeEnv, MazeEnv


def make_cartpole() -> GymMazeEnv:
    return GymMazeEnv("CartPole-v1")


class TinyPolicyNet(torch.nn.Module):
    """One hidden layer over the concatenated observation keys, one linear head per action head."""

    def __init__(self, obs_shapes: Dict[str, Sequence[int]], action_logit_shapes: Dict[str, Sequence[int]],
                 hidden: int = 16):
        super().__init__()
        width = sum(int(np.prod(shape)) for shape in obs_shapes.values())
        self.body = torch.nn.Sequential(torch.nn.Linear(width, hidden), torch.nn.Tanh())
        self.heads = torch.nn.ModuleDict({head: torch.nn.Linear(hidden, int(np.prod(shape)))
                                          for head, shape in action_logit_shapes.items()})

    def forward(self, obs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        h = self.body(torch.cat([obs[key].flatten(1) for key in sorted(obs)], dim=-1))
        return {head: layer(h) for head, layer in self.heads.items()}


class CostEnv(MazeEnv):
    """Five steps per episode; action 1 earns reward 1 and costs 1 (``info["cost"]``), action 0 is free and
    counts as served (``info["kpis"]["served"] = 1``): the highest return is the highest cost."""

    def __init__(self):
        self.observation_spaces_dict = {0: gym.spaces.Dict({"t": gym.spaces.Box(0, 5, (1,), dtype=np.float32)})}
        self.action_spaces_dict = {0: gym.spaces.Dict({"action": gym.spaces.Discrete(2)})}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return {"t": np.zeros(1, dtype=np.float32)}, {}

    def step(self, action):
        self.t += 1
        a = int(action["action"])
        info = {"cost": float(a), "kpis": {"served": 1.0 - a}}
        return {"t": np.full(1, self.t, dtype=np.float32)}, float(a), False, self.t >= 5, info


class CoinFlipEnv(MazeEnv):
    """One-step episodes whose reward is a fair coin (from the env's reset seed), whatever the policy does:
    every policy is equally good, so a selection that reports more than 0.5 was fooled by luck."""

    def __init__(self):
        self.observation_spaces_dict = {0: gym.spaces.Dict({"t": gym.spaces.Box(0, 1, (1,), dtype=np.float32)})}
        self.action_spaces_dict = {0: gym.spaces.Dict({"action": gym.spaces.Discrete(2)})}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return {"t": np.zeros(1, dtype=np.float32)}, {}

    def step(self, action):
        return {"t": np.ones(1, dtype=np.float32)}, float(self.np_random.random() < 0.5), True, False, {}
