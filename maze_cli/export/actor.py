"""One actor of a policy as a plain module: raw observation dict in, deterministic env action dict out.

Everything the env-facing path does happens inside, in torch ops, so the exported file needs nothing
of maze_cli: the observation conversion (one-hot for discrete keys), normalisation, action masks, the
distribution's mode and its map into the action space (clip, squash, dtype).
"""
from __future__ import annotations

from typing import Dict

import numpy as np
import torch
from torch import nn

from maze_cli.envs.maze_env import ActorID
from maze_cli.models.policy import TorchPolicy


class DeterministicActor(nn.Module):
    """The mode of ``policy``'s distribution for actor ``actor_id``, as the env expects the action."""

    def __init__(self, policy: TorchPolicy, actor_id: ActorID = (0, 0)):
        super().__init__()
        self.policy = policy
        self.actor_id = tuple(actor_id)
        self.converter = policy.converters[actor_id[0]]
        action_space = policy.distribution_mappers[actor_id[0]].action_space
        self.dtypes = {head: torch.from_numpy(np.zeros(0, dtype=space.dtype)).dtype
                       for head, space in action_space.spaces.items()}

    def forward(self, obs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        dist = self.policy.distribution(self.converter(obs), self.actor_id)
        return {head: head_dist.env_tensor(head_dist.deterministic_sample()).to(self.dtypes[head]).detach()
                for head, head_dist in dist.distributions.items()}
