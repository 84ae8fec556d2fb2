"""Generalized state-dependent exploration (gSDE) for Box action heads of on-policy algorithms.

A diagonal Gaussian draws fresh noise every step: on a task such as Pendulum, whose torque must be held for
many steps, the pushes average out and the policy explores little. gSDE (Raffin, Kober and Stulp, "Smooth
Exploration for Robotic Reinforcement Learning", CoRL 2021) perturbs the action by ``f(s) @ theta`` instead:
``f(s)`` are the policy network's last hidden features and ``theta`` an exploration matrix drawn from
``N(0, sigma^2)`` and kept for several steps. The noise then changes only as the state does, smoothly,
and its size depends on the state. Given the state, the action is Gaussian with mean ``mu(s)`` and variance
``f(s)^2 @ sigma^2`` per action element; that density scores the stored samples, so PPO's and A2C's
losses need no change.
"""
from __future__ import annotations

from typing import Dict, Tuple

import gymnasium as gym
import torch

from maze_cli.distributions.base import clamped_log_std, ProbabilityDistribution, TorchDistribution
from maze_cli.distributions.continuous import ClipsToBox, box_mean_shape
from maze_cli.distributions.normal import DiagonalNormal


class GSDEGaussianProbabilityDistribution(ClipsToBox, TorchDistribution):
    """Box(n,) with state-dependent noise: the network outputs the mean ``(n,)``; the policy passes its
    last hidden ``features`` ``(*batch, F)``, detached (the exploration does not train them, as in the paper's
    default), and owns the learnable ``log_std`` ``(F, n)`` of the exploration matrix's entries.

    Samples are unbounded (their log-prob is exact); :meth:`env_tensor` clips them into the Box.

    :param logits: the mean, ``(*batch, n)``.
    :param action_space: a 1-d Box.
    :param log_std: ``(F, n)`` log standard deviations of the exploration matrix ``theta``.
    :param features: ``(*batch, F)`` the policy network's features of the same observations.
    """

    needs_features = True
    """The policy passes its network's ``features`` (see :class:`~maze_cli.models.policy.TorchPolicy`)."""

    INIT_LOG_STD = 0.0
    EPSILON = 1e-6
    """Added to the variance: features that are all zero would otherwise give a zero std."""

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Box, log_std: torch.Tensor,
                 features: torch.Tensor):
        super().__init__(logits, action_space)
        if features.shape[-1] != log_std.shape[0]:
            raise ValueError(f"gSDE: the policy network has {features.shape[-1]} features, the exploration "
                             f"log-std {tuple(log_std.shape)} expects {log_std.shape[0]}")
        self.mean, self.features = logits, features
        self.theta_std = clamped_log_std(log_std).exp()
        self.std = torch.sqrt(features.pow(2) @ self.theta_std.pow(2) + self.EPSILON)
        self.dist = DiagonalNormal(self.mean, self.std)

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.Box) -> Tuple[int, ...]:
        return box_mean_shape(cls, action_space)

    @classmethod
    def init_parameters(cls, action_space: gym.spaces.Box, n_features: int = 0) -> Dict[str, torch.Tensor]:
        """The ``(n_features, n)`` log-std of the exploration matrix; the policy passes its network's width."""
        if n_features < 1:
            raise ValueError(f"{cls.__name__} needs the width of the policy network's features, got {n_features}")
        return {"log_std": torch.full((n_features,) + cls.required_logits_shape(action_space), cls.INIT_LOG_STD)}

    def sample_with_matrix(self, epsilon: torch.Tensor) -> torch.Tensor:
        """``mean + f(s) @ theta`` with ``theta = sigma * epsilon``; ``epsilon`` ``(batch, F, n)`` standard
        normal, one matrix per batch entry (per env while acting)."""
        theta = self.theta_std * epsilon.to(self.mean.dtype)
        return self.mean + torch.einsum("bf,bfn->bn", self.features, theta)

    def deterministic_sample(self) -> torch.Tensor:
        return self.mean


class GSDENoise:
    """Per action head, one standard-normal exploration matrix per batch entry, redrawn every ``sample_freq``
    acting steps (or when the batch shape changes); heads without state-dependent noise sample as usual.

    The policy sets one on itself when a head uses :class:`GSDEGaussianProbabilityDistribution`; rollouts pass it
    to ``sample``. The matrix is scaled by the current ``sigma`` at every step, so it follows the updates.

    :param sample_freq: acting steps between draws (the RL Zoo uses 4 for PPO on Pendulum); 1 redraws every step,
        which is a diagonal Gaussian whose variance depends on the state.
    :param seed: seeds the generator.
    """

    def __init__(self, sample_freq: int, seed: int = 0):
        if not isinstance(sample_freq, int) or isinstance(sample_freq, bool) or sample_freq < 1:
            raise ValueError(f"gSDE: sde_sample_freq={sample_freq!r} is invalid: expected an integer >= 1 "
                             f"(acting steps between draws of the exploration matrix)")
        self.sample_freq = sample_freq
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Start afresh from ``seed`` (a policy copy in another process must not replay the learner's draws)."""
        self._generator = torch.Generator().manual_seed(int(seed))
        self._matrices: Dict[str, Tuple[torch.Tensor, int]] = {}

    def sample(self, head: str, dist: ProbabilityDistribution) -> torch.Tensor:
        """The head's next action sample."""
        if not isinstance(dist, GSDEGaussianProbabilityDistribution):
            return dist.sample()
        shape = (dist.features.shape[0],) + tuple(dist.theta_std.shape)
        epsilon, used = self._matrices.get(head, (None, 0))
        if epsilon is None or tuple(epsilon.shape) != shape or used == self.sample_freq:
            epsilon, used = torch.randn(shape, generator=self._generator), 0
        self._matrices[head] = (epsilon, used + 1)
        return dist.sample_with_matrix(epsilon.to(dist.mean.device))
