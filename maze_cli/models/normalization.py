"""Observation normalisation as the models' input stage, with statistics kept in the trainer's process.

Why not an env wrapper: a wrapper in every env worker would keep its own running statistics, so
they would diverge across workers and differ between runners. Here the statistics are buffers of
one :class:`ObservationNormalizer` that the policy and the critic share. Rollouts store raw
(converted) observations; the trainer updates the statistics from each collected batch after the
update, in its own process, so they are identical under every runner. Being buffers they are
saved with the policy and critic in every checkpoint, restored on resume, copied with the policy
to wherever it acts, and applied by ``compute_action`` to raw env observations.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from maze_cli.core.errors import ConfigError, check

logger = logging.getLogger("maze_cli")


@dataclass
class ObservationNormalization:
    """Settings of observation normalisation; the schema of the ``normalization=obs_norm`` preset.

    Normalises every float Box observation key to zero mean and unit variance per element.

    :param update: keep updating running statistics from every rollout; ``False`` keeps the
        statistics sampled before training fixed.
    :param sampling_steps: env steps with random actions, before training, that initialise the
        statistics (0: start from mean 0, variance 1 and learn from the first rollout on).
    :param clip: normalised values are clipped to ``[-clip, clip]``; 0 disables clipping.
    :param epsilon: added to the variance before the square root.
    :param exclude: observation keys to leave as they are.
    """

    update: bool = True
    sampling_steps: int = 1000
    clip: float = 5.0
    epsilon: float = 1e-8
    exclude: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        p = "normalization."
        check(isinstance(self.sampling_steps, int) and self.sampling_steps >= 0, p + "sampling_steps",
              self.sampling_steps, "an integer >= 0")
        check(self.clip >= 0, p + "clip", self.clip, "a value >= 0 (0 disables clipping)")
        check(self.epsilon > 0, p + "epsilon", self.epsilon, "a value > 0")
        check(self.update or self.sampling_steps > 0, p + "update", self.update,
              "true, or sampling_steps > 0 (fixed statistics must be sampled before training)")


def is_float_box(space: gym.Space) -> bool:
    """Normalised keys: float Boxes (uint8 images are scaled by their encoder, masks are not inputs to scale)."""
    return isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating)


class RunningMoments(nn.Module):
    """Mean and variance of a stream of batches (Chan et al.'s parallel update), as float64 buffers."""

    def __init__(self, shape: Tuple[int, ...]):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(shape, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    def reset(self) -> None:
        """Back to no data: mean 0, variance 1, count 0."""
        self.mean.zero_()
        self.var.fill_(1.0)
        self.count.zero_()

    def update(self, x: torch.Tensor) -> int:
        """Merge a batch ``(n, *shape)`` into the statistics; returns how many rows were left out.

        Rows with a NaN or inf are left out: merged, one bad env step would turn the statistics, and with
        them every later input and the checkpoints that save them, into NaN.
        """
        x = x.to(torch.float64)
        finite = torch.isfinite(x.reshape(x.shape[0], -1)).all(dim=1)
        dropped = x.shape[0] - int(finite.sum())
        if dropped:
            x = x[finite]
        n = x.shape[0]
        if n == 0:
            return dropped
        batch_mean, batch_var = x.mean(0), x.var(0, unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        self.var.copy_((self.var * self.count + batch_var * n + delta ** 2 * self.count * n / total) / total)
        self.mean.add_(delta * n / total)
        self.count.copy_(total)
        return dropped


class ObservationNormalizer(nn.Module):
    """``(x - mean) / sqrt(var + epsilon)``, clipped, for every normalised key of a converted observation.

    :param observation_spaces_dict: ``{sub-step: Dict observation space}``; Box keys are normalised
        (a key shared by several sub-steps shares its statistics).
    :param settings: see :class:`ObservationNormalization`.
    """

    def __init__(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict], settings: ObservationNormalization):
        super().__init__()
        self.settings = settings
        shapes: Dict[str, Tuple[int, ...]] = {}
        all_keys = set()
        for step, space in sorted(observation_spaces_dict.items()):
            for key, sub in space.spaces.items():
                all_keys.add(key)
                if not is_float_box(sub) or key in settings.exclude:
                    continue
                if shapes.setdefault(key, tuple(sub.shape)) != tuple(sub.shape):
                    raise ValueError(f"observation normalisation: key {key!r} has shape {sub.shape} in sub-step "
                                     f"{step} but {shapes[key]} in another; exclude it or rename one")
        unknown = sorted(set(settings.exclude) - all_keys)
        if unknown:
            raise ConfigError(f"normalization.exclude: unknown observation keys {unknown}; "
                              f"expected some of {sorted(all_keys)}")
        self.moments = nn.ModuleDict({key: RunningMoments(shape) for key, shape in shapes.items()})

    def forward(self, obs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        out = dict(obs)
        for key, moments in self.moments.items():
            if key not in obs:
                continue
            std = torch.sqrt(moments.var + self.settings.epsilon)
            value = (obs[key] - moments.mean.to(obs[key].dtype)) / std.to(obs[key].dtype)
            out[key] = value.clamp(-self.settings.clip, self.settings.clip) if self.settings.clip > 0 else value
        return out

    @torch.no_grad()
    def update(self, observations: Mapping[str, torch.Tensor], mask: Optional[torch.Tensor] = None) -> None:
        """Merge a rollout's observations (``mask`` selects the valid steps); a no-op for fixed statistics."""
        if self.settings.update:
            self._accumulate(observations, mask)

    @torch.no_grad()
    def fit(self, batches: Sequence[Mapping[str, torch.Tensor]]) -> None:
        """Replace the statistics by those of ``batches`` of observations (a no-op for fixed statistics):
        behavioural cloning's policy sees the recorded observations, not those of random actions."""
        if not self.settings.update:
            return
        for moments in self.moments.values():
            moments.reset()
        for observations in batches:
            self._accumulate(observations, None)

    def _accumulate(self, observations: Mapping[str, torch.Tensor], mask: Optional[torch.Tensor]) -> None:
        for key, moments in self.moments.items():
            if key in observations:
                value = observations[key] if mask is None else observations[key][mask]
                dropped = moments.update(value.reshape((-1,) + tuple(moments.mean.shape)))
                if dropped:
                    logger.warning(f"observation normalisation: {dropped} observation(s) of key {key!r} hold NaN "
                                   f"or inf; they were left out of its statistics. Check the env's observations")

    @torch.no_grad()
    def sample_statistics(self, env: gym.Env, n_steps: int, seed: int) -> None:
        """Initialise the statistics from ``n_steps`` steps of ``env`` with uniformly random actions."""
        for space in env.get_wrapper_attr("action_spaces_dict").values():
            space.seed(seed)
        collected: Dict[str, List[np.ndarray]] = {key: [] for key in self.moments}
        obs, _ = env.reset(seed=seed)
        for _ in range(n_steps):
            for key, values in collected.items():
                if key in obs:
                    values.append(np.asarray(obs[key], dtype=np.float64))
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                obs, _ = env.reset()
        self._accumulate({key: torch.as_tensor(np.stack(values)) for key, values in collected.items() if values},
                         None)
