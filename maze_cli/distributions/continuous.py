"""Bernoulli (MultiBinary) and Gaussian (Box) heads."""
from __future__ import annotations

import math
from typing import Dict, Tuple

import gymnasium as gym
import numpy as np
import torch
from torch import distributions as td

from maze_cli.distributions.base import clamped_log_std, TorchDistribution
from maze_cli.distributions.normal import DiagonalNormal


class BernoulliProbabilityDistribution(TorchDistribution):
    """MultiBinary(shape): independent Bernoullis, logits of the space's shape."""

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.MultiBinary):
        super().__init__(logits, action_space)
        n_event = len(action_space.shape)
        self.dist = td.Independent(td.Bernoulli(logits=logits), n_event)

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.MultiBinary) -> Tuple[int, ...]:
        return tuple(int(d) for d in action_space.shape)

    def deterministic_sample(self) -> torch.Tensor:
        return (self.logits > 0).to(self.logits.dtype)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.dist.log_prob(actions.to(self.logits.dtype))


def box_mean_shape(cls: type, action_space: gym.Space) -> Tuple[int, ...]:
    """``(n,)`` of a 1-d Box, the mean a Gaussian head's network outputs; raises naming ``cls`` otherwise."""
    if not isinstance(action_space, gym.spaces.Box) or len(action_space.shape) != 1:
        raise ValueError(f"{cls.__name__} supports 1-d Box action spaces, got {action_space}")
    return (int(action_space.shape[0]),)


class ClipsToBox:
    """For heads whose samples are unbounded (so their log-prob is exact): :meth:`env_tensor` clips them into the Box."""

    action_space: gym.spaces.Box

    def env_tensor(self, sample: torch.Tensor) -> torch.Tensor:
        # The bounds are read here, not when the head is built: training builds heads per minibatch and never
        # clips. Copies, because a Ray worker's action space holds read-only arrays, which torch warns about.
        low = torch.tensor(self.action_space.low, dtype=sample.dtype)
        high = torch.tensor(self.action_space.high, dtype=sample.dtype)
        return torch.max(torch.min(sample, high), low)


class GaussianHead(TorchDistribution):
    """Shared by the Gaussian heads: the network outputs the mean ``(n,)`` of a 1-d Box; the
    log-std is a state-independent parameter the policy owns (initialised to :attr:`INIT_LOG_STD`)."""

    INIT_LOG_STD = 0.0

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.Box) -> Tuple[int, ...]:
        return box_mean_shape(cls, action_space)

    @classmethod
    def init_parameters(cls, action_space: gym.spaces.Box) -> Dict[str, torch.Tensor]:
        return {"log_std": torch.full(cls.required_logits_shape(action_space), cls.INIT_LOG_STD)}

    def sample_with(self, noise: torch.Tensor) -> torch.Tensor:
        """The sample ``mean + std * noise`` for given standard-normal ``noise`` (e.g. colored, see
        :mod:`maze_cli.distributions.colored_noise`) instead of a fresh draw."""
        return self.dist.loc + self.dist.scale * noise.to(self.dist.loc.dtype)


class DiagonalGaussianProbabilityDistribution(ClipsToBox, GaussianHead):
    """Box(n,): a diagonal Gaussian whose mean comes from the network, shape ``(n,)``.

    The log-std is a learnable parameter of the policy, the same for every observation
    (initialised to :attr:`INIT_LOG_STD`). Samples are unbounded, so that the log-prob of the
    stored sample is exact; :meth:`to_env_action` clips them into the Box bounds.

    :param logits: the mean, ``(*batch, n)``.
    :param action_space: a 1-d Box.
    :param log_std: ``(n,)`` log standard deviations (clamped to ``[LOG_STD_MIN, LOG_STD_MAX]``).
    """

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Box, log_std: torch.Tensor):
        super().__init__(logits, action_space)
        self.mean = logits
        self.std = clamped_log_std(log_std).exp().expand_as(logits)
        self.dist = DiagonalNormal(self.mean, self.std)

    def deterministic_sample(self) -> torch.Tensor:
        return self.mean


class SquashedGaussianProbabilityDistribution(GaussianHead):
    """Box(n,) with finite bounds: action ``a = c + s * tanh(u)``, ``u`` ~ diagonal Gaussian.

    ``c = (high + low) / 2`` and ``s = (high - low) / 2``. Samples are the pre-squash ``u``
    (stored by rollouts and scored by :meth:`log_prob`, which avoids inverting ``tanh`` at the
    bounds); :meth:`to_env_action` squashes them. :meth:`log_prob` is the density of the action
    ``a`` the env receives, by the change of variables
    ``log p(a) = log N(u) - sum log(s * (1 - tanh(u)^2))``.

    :param logits: the mean of ``u``, ``(*batch, n)``.
    :param action_space: a 1-d Box with finite bounds.
    :param log_std: ``(n,)`` log standard deviations of ``u``.
    """

    BOUND_MARGIN = 1e-3
    """How far inside [-1, 1] :meth:`from_env_action` moves recorded actions on the bounds (atanh = +-3.8)."""

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Box, log_std: torch.Tensor):
        super().__init__(logits, action_space)
        if not (np.isfinite(action_space.low).all() and np.isfinite(action_space.high).all()):
            raise ValueError(f"{type(self).__name__} needs finite Box bounds, got low={action_space.low} "
                             f"high={action_space.high}")
        self.mean = logits
        self.dist = DiagonalNormal(logits, clamped_log_std(log_std).exp().expand_as(logits))
        low = torch.as_tensor(action_space.low, dtype=logits.dtype)
        high = torch.as_tensor(action_space.high, dtype=logits.dtype)
        self._center, self._scale = (high + low) / 2, (high - low) / 2

    def squash(self, u: torch.Tensor) -> torch.Tensor:
        """The env action of a pre-squash sample."""
        return self._center + self._scale * torch.tanh(u)

    def deterministic_sample(self) -> torch.Tensor:
        return self.mean

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """Log-density of the squashed action, given the stored pre-squash sample ``u``."""
        return self.unit_log_prob(actions) - torch.log(self._scale).sum(-1)

    def unit_log_prob(self, u: torch.Tensor) -> torch.Tensor:
        """Log-density of ``tanh(u)``, the action rescaled to [-1, 1]: what SAC's entropy targets refer to."""
        # log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)), exact where tanh(u) rounds to +-1.
        log_dtanh = 2.0 * (math.log(2.0) - u - torch.nn.functional.softplus(-2.0 * u))
        return self.dist.log_prob(u) - log_dtanh.sum(-1)

    def rsample_unit(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised sample as ``(tanh(u), log-density of tanh(u))``: gradients flow to mean and std."""
        u = self.dist.rsample()
        return torch.tanh(u), self.unit_log_prob(u)

    def entropy(self) -> torch.Tensor:
        """The entropy of ``u``: the squashed action's entropy has no closed form (it is ``H(u) + E[log|da/du|]``)."""
        return self.dist.entropy()

    def env_tensor(self, sample: torch.Tensor) -> torch.Tensor:
        return self.squash(sample)

    def from_env_action(self, action: torch.Tensor) -> torch.Tensor:
        """``atanh`` of the rescaled action; actions on the bounds are moved inside by :attr:`BOUND_MARGIN`
        (a controller that saturates would otherwise have an infinite pre-squash sample)."""
        unit = (action.to(self.mean.dtype) - self._center) / self._scale
        return torch.atanh(unit.clamp(-1.0 + self.BOUND_MARGIN, 1.0 - self.BOUND_MARGIN))


class StateDependentSquashedGaussianProbabilityDistribution(SquashedGaussianProbabilityDistribution):
    """A squashed Gaussian whose log-std, like its mean, comes from the network: logits ``(2, n)``.

    ``logits[..., 0, :]`` is the mean of ``u`` and ``logits[..., 1, :]`` its log-std (clamped to
    ``[LOG_STD_MIN, LOG_STD_MAX]``). SAC's policy needs this: its entropy term would otherwise push one
    exploration width on every state.
    """

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.Box) -> Tuple[int, ...]:
        return (2,) + super().required_logits_shape(action_space)

    @classmethod
    def init_parameters(cls, action_space: gym.spaces.Box) -> Dict[str, torch.Tensor]:
        return {}

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Box):
        super().__init__(logits[..., 0, :], action_space, logits[..., 1, :])
        self.logits = logits
