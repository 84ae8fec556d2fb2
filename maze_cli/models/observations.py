"""Turns env observations (numpy dicts) into the tensors networks read.

Discrete and MultiDiscrete keys become one-hot floats. Compact dtypes (``uint8`` images, ``int8``
MultiBinary, ``bool`` masks) keep their dtype, so that rollout storage, which takes the dtype the
converter outputs, stays small (a ``uint8`` image is a quarter of its float32 size); networks convert
on the batch (see :mod:`maze_cli.models.perception`). Every other key becomes float32.
"""
from __future__ import annotations

from typing import Dict, Mapping, Tuple

import gymnasium as gym
import numpy as np
import torch

COMPACT_DTYPES = (torch.uint8, torch.int8, torch.bool)
"""Dtypes kept as they are by the converter (the network converts them to float)."""

SUPPORTED_SPACES = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)


def unsupported_space_message(key: str, space: gym.Space) -> str:
    """What to do about an observation key whose space no default encoder reads."""
    return (f"observation key {key!r} has space {type(space).__name__} ({space}), which the default networks "
            f"cannot encode (they read Box, Discrete, MultiDiscrete and MultiBinary): drop it with "
            f"policy.networks.ignore_keys=[{key}] and critic.networks.ignore_keys=[{key}], or encode it as one of "
            f"those spaces in an env wrapper")


def converted_shape(space: gym.Space, key: str = "?") -> Tuple[int, ...]:
    """Shape a network sees for one observation key (one-hot for discrete spaces)."""
    if isinstance(space, gym.spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return (int(np.sum(space.nvec)),)
    if isinstance(space, (gym.spaces.Box, gym.spaces.MultiBinary)):
        return tuple(int(d) for d in space.shape)
    raise ValueError(unsupported_space_message(key, space))


def converted_space(space: gym.Space) -> gym.Space:
    """The space of a converted key: one-hot Box for discrete spaces, the space itself otherwise."""
    if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete)):
        return gym.spaces.Box(0.0, 1.0, converted_shape(space), dtype=np.float32)
    return space


class ObservationConverter:
    """Converts batches of one sub-step's observations to tensors, one-hot encoding discrete keys.

    Keys with an unsupported space (Text, Graph, Sequence, ...) are left out of :attr:`shapes` and
    listed in :attr:`unsupported`; networks that read them fail at build time with a message naming
    the key. Float32 arrays are shared with numpy (no copy).
    """

    def __init__(self, observation_space: gym.spaces.Dict):
        self.space = observation_space
        items = observation_space.spaces.items()
        self.unsupported = {key: space for key, space in items if not isinstance(space, SUPPORTED_SPACES)}
        self.spaces: Dict[str, gym.Space] = {key: space for key, space in items if key not in self.unsupported}
        self.shapes: Dict[str, Tuple[int, ...]] = {key: converted_shape(space, key) for key, space in self.spaces.items()}
        self._discrete = {key: (int(space.n), int(space.start)) for key, space in self.spaces.items()
                          if isinstance(space, gym.spaces.Discrete)}
        self._multi_discrete = {key: [int(n) for n in np.asarray(space.nvec).reshape(-1)]
                                for key, space in self.spaces.items() if isinstance(space, gym.spaces.MultiDiscrete)}

    @property
    def converted_spaces(self) -> Dict[str, gym.Space]:
        """``{key: space of the converted key}``: what networks that take ``obs_spaces`` receive."""
        return {key: converted_space(space) for key, space in self.spaces.items()}

    def __call__(self, observation: Mapping[str, np.ndarray]) -> Dict[str, torch.Tensor]:
        out = {}
        for key in self.shapes:
            value = observation[key]  # from_numpy: a third of as_tensor's cost, paid at every acting step
            value = torch.from_numpy(value) if isinstance(value, np.ndarray) else torch.as_tensor(value)
            if key in self._discrete:
                n, start = self._discrete[key]
                value = torch.nn.functional.one_hot(value.long() - start, n).float()
            elif key in self._multi_discrete:
                value = torch.cat([torch.nn.functional.one_hot(value[..., i].long(), n)
                                   for i, n in enumerate(self._multi_discrete[key])], dim=-1).float()
            elif value.dtype != torch.float32 and value.dtype not in COMPACT_DTYPES:
                value = value.float()
            out[key] = value
        return out
