"""What a loss consumes: one actor's transitions of a rollout with their advantages and returns."""
from __future__ import annotations

from typing import Dict, NamedTuple, Optional

import torch

from maze_cli.envs.maze_env import ActorID


class TrainingSamples(NamedTuple):
    """One actor's transitions of a rollout, flattened over time and envs, ready for a loss.

    ``critic_observations`` is set when the critic reads other inputs than the policy
    (stacked observations of every sub-step); ``None`` means it reads ``observations``.
    """

    actor_id: ActorID
    observations: Dict[str, torch.Tensor]
    actions: Dict[str, torch.Tensor]
    old_log_probs: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    critic_observations: Optional[Dict[str, torch.Tensor]] = None


def actor_samples(batch, gamma: float, gae_lambda: float, normalize: bool = True) -> "list[TrainingSamples]":
    """GAE(lambda) advantages and returns of a rollout, split into one :class:`TrainingSamples` per actor.

    ``normalize`` standardises each actor's advantages (zero mean, unit variance).
    """
    return batch.training_samples(gamma, gae_lambda, normalize)


def normalize_advantages(advantages: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance (left as is for fewer than two samples)."""
    if advantages.numel() < 2:
        return advantages
    return (advantages - advantages.mean()) / (advantages.std(unbiased=False) + 1e-8)
