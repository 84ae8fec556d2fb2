"""What a loss consumes: one actor's transitions of a rollout with their advantages and returns."""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, NamedTuple, Optional

import torch

from maze_cli.algorithms.returns import compute_gae, normalize_advantages
from maze_cli.envs.maze_env import ActorID

if TYPE_CHECKING:
    from maze_cli.train.batch import RolloutBatch


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


def actor_samples(batch: "RolloutBatch", gamma: float, gae_lambda: float,
                  normalize: bool = True) -> List[TrainingSamples]:
    """GAE(lambda) advantages and returns of a rollout, split into one :class:`TrainingSamples` per actor.

    ``normalize`` standardises each actor's advantages (zero mean, unit variance): each actor's are
    estimates of a different return.
    """
    advantages, returns = compute_gae(batch.actors, batch.valid, batch.rewards, batch.values, batch.last_values,
                                      batch.episode_end, batch.end_values, len(batch.actor_ids), gamma, gae_lambda)
    samples = batch.per_actor(advantages, returns)
    if normalize:
        samples = [s._replace(advantages=normalize_advantages(s.advantages)) for s in samples]
    return samples
