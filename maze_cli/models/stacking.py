"""Stacked critic input: the observations of every sub-step of the current flat step, in one dict.

A shared critic of a structured env values decisions of several sub-steps whose observations may
differ in keys and shapes. With ``stack_observations`` it reads one fixed input instead: each
sub-step's latest observation of the current flat step under its own keys (zeros for sub-steps
not yet seen in this flat step), plus a one-hot of the sub-step whose decision is being valued.
"""
from __future__ import annotations

from typing import Dict, Mapping, Sequence, Tuple

import gymnasium as gym
import numpy as np
import torch

from maze_cli.models.observations import ObservationConverter

SUBSTEP_KEY = "substep"
"""Key of the one-hot encoding of the sub-step being valued."""

TensorDict = Dict[str, torch.Tensor]


def stacked_key(step: int, key: str) -> str:
    """Key under which sub-step ``step``'s observation ``key`` appears in the stacked input."""
    return f"substep{step}/{key}"


class ObservationStacker:
    """Builds stacked critic inputs from the converted observations of each sub-step.

    :param observation_spaces_dict: ``{sub-step: Dict observation space}``.
    """

    def __init__(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict]):
        self.steps = sorted(observation_spaces_dict)
        self.spaces = dict(observation_spaces_dict)
        self.converters = {step: ObservationConverter(space) for step, space in self.spaces.items()}
        self.shapes: Dict[str, Tuple[int, ...]] = {
            stacked_key(step, key): shape for step in self.steps for key, shape in self.converters[step].shapes.items()}
        self.shapes[SUBSTEP_KEY] = (len(self.steps),)
        self.key_spaces: Dict[str, gym.Space] = {
            stacked_key(step, key): space for step in self.steps for key, space in self.spaces[step].spaces.items()}
        self.key_spaces[SUBSTEP_KEY] = gym.spaces.Box(0.0, 1.0, (len(self.steps),), dtype=np.float32)

    def stack(self, step: int, latest: Mapping[int, Mapping[str, torch.Tensor]]) -> TensorDict:
        """The input for valuing decisions of sub-step ``step``.

        :param latest: ``{sub-step: {key: (batch, ...) tensor}}``, every sub-step's latest converted
            observation in the current flat step (zeros where it has none yet).
        """
        out = {stacked_key(s, key): latest[s][key].float() for s in self.steps for key in self.converters[s].shapes}
        batch = next(iter(out.values())).shape[0]
        one_hot = torch.zeros(batch, len(self.steps))
        one_hot[:, self.steps.index(step)] = 1.0
        out[SUBSTEP_KEY] = one_hot
        return out

    def zeros(self, n: int) -> Dict[int, TensorDict]:
        """``{sub-step: {key: zeros (n, ...)}}``: per-env memory of the current flat step's observations."""
        return {step: {key: torch.zeros((n,) + shape) for key, shape in self.converters[step].shapes.items()}
                for step in self.steps}

    def sample_batch(self, n: int = 2) -> TensorDict:
        """A batch of stacked inputs built from random observations (checks networks at build time)."""
        latest = {}
        for step in self.steps:
            samples = [self.spaces[step].sample() for _ in range(n)]
            latest[step] = self.converters[step]({key: np.stack([s[key] for s in samples])
                                                  for key in self.spaces[step].spaces})
        return self.stack(self.steps[-1], latest)


class FlatStepMemory:
    """Per env, the latest converted observation of every sub-step within the current flat step.

    :param stacker: defines keys and shapes.
    :param n_envs: number of envs remembered.
    """

    def __init__(self, stacker: ObservationStacker, n_envs: int):
        self.stacker = stacker
        self.latest = stacker.zeros(n_envs)

    def record(self, step: int, envs: torch.Tensor, obs: Mapping[str, torch.Tensor]) -> None:
        """Remember ``obs`` (a batch for ``envs``) as sub-step ``step``'s observation of their flat step."""
        for key, value in obs.items():
            memory = self.latest[step][key]
            memory[envs] = value.to(memory.dtype)  # compact dtypes (uint8 images, int8 masks) stack as floats

    def critic_input(self, step: int, envs: torch.Tensor) -> TensorDict:
        """The stacked input of ``envs``, whose current decision belongs to sub-step ``step``."""
        return self.stacker.stack(step, {s: {key: value[envs] for key, value in by_key.items()}
                                         for s, by_key in self.latest.items()})

    def forget(self, envs: Sequence[int]) -> None:
        """A new flat step (or episode) begins for ``envs``."""
        if len(envs):
            index = torch.as_tensor(envs, dtype=torch.long)
            for by_key in self.latest.values():
                for value in by_key.values():
                    value[index] = 0.0
