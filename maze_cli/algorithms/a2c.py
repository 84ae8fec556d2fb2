"""A2C (synchronous advantage actor-critic, Mnih et al. 2016 without asynchrony): one gradient step per rollout."""
from __future__ import annotations

from typing import Dict

from maze_cli.algorithms.actor_critic import ActorCritic, loss_terms, weighted_loss
from maze_cli.core.scalars import squared
from maze_cli.train.batch import RolloutBatch


class A2C(ActorCritic):
    """Policy gradient on GAE advantages plus a squared-error value loss, summed over all actors' samples."""

    def update(self, batch: RolloutBatch, epoch: int, progress: float) -> Dict[str, float]:
        cfg = self.config
        train_policy, stats = self.start_update(epoch, progress)
        samples = self.training_samples(batch, stats)
        policy_terms, value_terms, entropies = [], [], []
        for actor in samples:
            log_probs, entropy, values = loss_terms(self.policy, self.critic, actor)
            policy_terms.append(-(log_probs * actor.advantages))
            value_terms.append(squared(values - actor.returns))
            entropies.append(entropy)
        loss, loss_stats = weighted_loss(cfg, policy_terms, value_terms, entropies, train_policy)
        loss_stats["losses/grad_norm"] = self.gradient_step(loss)
        return {**stats, **loss_stats}
