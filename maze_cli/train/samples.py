"""From a rollout to what a loss consumes: advantages and returns, one :class:`TrainingSamples` per actor."""
from __future__ import annotations

from typing import List

from maze_cli.algorithms.returns import compute_gae, normalize_advantages
from maze_cli.train.batch import RolloutBatch, TrainingSamples


def actor_samples(batch: RolloutBatch, gamma: float, gae_lambda: float,
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


__all__ = ["TrainingSamples", "actor_samples"]
