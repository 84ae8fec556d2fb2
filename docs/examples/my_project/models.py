"""User networks, selected with ``policy=custom policy.networks._target_=my_project.models.TinyPolicyNet``."""
from typing import Dict, Sequence

import torch
from torch import nn


class TinyPolicyNet(nn.Module):
    """One hidden layer over the concatenated observations; one logits head per action head."""

    def __init__(self, obs_shapes: Dict[str, Sequence[int]], action_logit_shapes: Dict[str, Sequence[int]],
                 hidden: int = 32):
        super().__init__()
        n_in = sum(int(torch.tensor(s).prod()) for s in obs_shapes.values())
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU())
        self.heads = nn.ModuleDict({k: nn.Linear(hidden, int(s[0])) for k, s in action_logit_shapes.items()})

    def forward(self, x: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        h = self.body(torch.cat([v.flatten(1) for _, v in sorted(x.items())], dim=-1))
        return {k: head(h) for k, head in self.heads.items()}


class TinyValueNet(nn.Module):
    """Linear value function over the concatenated observations."""

    def __init__(self, obs_shapes: Dict[str, Sequence[int]]):
        super().__init__()
        self.linear = nn.Linear(sum(int(torch.tensor(s).prod()) for s in obs_shapes.values()), 1)

    def forward(self, x: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"value": self.linear(torch.cat([v.flatten(1) for _, v in sorted(x.items())], dim=-1))}
