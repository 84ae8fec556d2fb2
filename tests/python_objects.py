"""Importable env factory and networks for tests of Python-built runs that maze-run replays."""
from typing import Dict, Sequence

import numpy as np
import torch

from maze_cli import GymMazeEnv


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
