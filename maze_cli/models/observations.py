"""Turns env observations (numpy dicts) into the float tensors networks read."""
from __future__ import annotations

from typing import Dict, Mapping, Tuple

import gymnasium as gym
import numpy as np
import torch


def converted_shape(space: gym.Space) -> Tuple[int, ...]:
    """Shape a network sees for one observation key (one-hot for discrete spaces)."""
    if isinstance(space, gym.spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return (int(np.sum(space.nvec)),)
    if isinstance(space, (gym.spaces.Box, gym.spaces.MultiBinary)):
        return tuple(int(d) for d in space.shape)
    raise ValueError(f"observation space {space} is not supported by the default observation "
                     f"conversion: expected Box, Discrete, MultiDiscrete or MultiBinary")


class ObservationConverter:
    """Converts batches of one sub-step's observations to float tensors, one-hot encoding discrete keys.

    Box and MultiBinary observations are shared with numpy (no copy) when already float32.
    """

    def __init__(self, observation_space: gym.spaces.Dict):
        self.space = observation_space
        self.shapes: Dict[str, Tuple[int, ...]] = {
            key: converted_shape(space) for key, space in observation_space.spaces.items()}
        self._discrete = {key: int(space.n) for key, space in observation_space.spaces.items()
                          if isinstance(space, gym.spaces.Discrete)}
        self._discrete_start = {key: int(observation_space[key].start) for key in self._discrete}
        self._multi_discrete = {key: [int(n) for n in space.nvec]
                                for key, space in observation_space.spaces.items()
                                if isinstance(space, gym.spaces.MultiDiscrete)}

    def __call__(self, observation: Mapping[str, np.ndarray]) -> Dict[str, torch.Tensor]:
        out = {}
        for key in self.shapes:
            value = torch.as_tensor(observation[key])
            if key in self._discrete:
                value = torch.nn.functional.one_hot(value.long() - self._discrete_start[key],
                                                    self._discrete[key]).float()
            elif key in self._multi_discrete:
                value = torch.cat([torch.nn.functional.one_hot(value[..., i].long(), n)
                                   for i, n in enumerate(self._multi_discrete[key])], dim=-1).float()
            elif value.dtype != torch.float32:
                value = value.float()
            out[key] = value
        return out
