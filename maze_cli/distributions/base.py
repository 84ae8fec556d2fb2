"""The distribution interface every action head implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, Tuple

import gymnasium as gym
import numpy as np
import torch
from torch import distributions as td

from maze_cli.core.scalars import scalar


# Building distribution objects in the acting loop is hot: argument validation costs more
# than the sampling itself and the network outputs are finite by construction.
td.Distribution.set_default_validate_args(False)

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


def clamped_log_std(log_std: torch.Tensor) -> torch.Tensor:
    """``log_std`` clamped to ``[LOG_STD_MIN, LOG_STD_MAX]``; bounds as tensors, so that backward casts nothing."""
    return log_std.clamp(scalar(LOG_STD_MIN, log_std.dtype), scalar(LOG_STD_MAX, log_std.dtype))


class ProbabilityDistribution(ABC):
    """One action head's distribution over actions, parameterised by network logits.

    :param logits: network output of shape ``(*batch, *required_logits_shape(action_space))``.
    :param action_space: the head's action space.
    """

    supports_mask = False
    """Whether the constructor takes an action ``mask`` (see :class:`CategoricalProbabilityDistribution`)."""

    def __init__(self, logits: torch.Tensor, action_space: gym.Space):
        self.logits = logits
        self.action_space = action_space

    @classmethod
    @abstractmethod
    def required_logits_shape(cls, action_space: gym.Space) -> Tuple[int, ...]:
        """Logits shape (without batch dims) the policy network must output for this head."""

    @classmethod
    def init_parameters(cls, action_space: gym.Space) -> Dict[str, torch.Tensor]:
        """Initial values of the head's state-independent learnable parameters, by constructor argument name.

        The policy holds them (one set per network) and passes them to the constructor; none by default.
        """
        return {}

    def env_tensor(self, sample: torch.Tensor) -> torch.Tensor:
        """A sample mapped into the action space in torch ops (clipped, squashed, ...): what :meth:`to_env_action`
        converts and what an exported policy computes. The identity unless a head transforms its samples."""
        return sample

    def to_env_action(self, sample: torch.Tensor) -> np.ndarray:
        """A (batch of) sample(s) as the env expects it: inside the space, in the space's dtype."""
        return np.asarray(self.env_tensor(sample).detach().cpu().numpy(), dtype=self.action_space.dtype)

    def from_env_action(self, action: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`to_env_action` for recorded env actions (behavioural cloning scores them
        with :meth:`log_prob`): the identity, except for heads whose samples are transformed."""
        return action

    @abstractmethod
    def sample(self) -> torch.Tensor:
        """A random action per batch entry."""

    @abstractmethod
    def deterministic_sample(self) -> torch.Tensor:
        """The mode: what a deterministic policy does."""

    @abstractmethod
    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """Log-density of ``actions``, summed over the head's event dims."""

    @abstractmethod
    def entropy(self) -> torch.Tensor:
        """Entropy, summed over the head's event dims."""


class TorchDistribution(ProbabilityDistribution):
    """A head backed by a ``dist`` with ``sample``, ``log_prob`` and ``entropy`` summed over the event dims: a
    ``torch.distributions`` object with its event dims reinterpreted, or a :class:`~maze_cli.distributions.normal.
    DiagonalNormal`."""

    dist: Any

    def sample(self) -> torch.Tensor:
        return self.dist.sample()

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.dist.log_prob(actions)

    def entropy(self) -> torch.Tensor:
        return self.dist.entropy()
