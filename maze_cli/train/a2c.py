"""A2C: one policy-gradient step per rollout, on GAE advantages."""
from __future__ import annotations

from typing import Dict

from maze_cli.train.rollout import RolloutBatch
from maze_cli.train.trainer import OnPolicyTrainer, prepare_samples


class A2CTrainer(OnPolicyTrainer):
    """Synchronous advantage actor-critic (Mnih et al. 2016, without asynchrony)."""

    def update(self, batch: RolloutBatch, train_policy: bool) -> Dict[str, float]:
        cfg = self.config
        policy_terms, value_terms, entropies = [], [], []
        for samples in prepare_samples(batch, cfg.gamma, cfg.gae_lambda):
            log_probs, entropy, values = self.loss_terms(samples)
            policy_terms.append(-(log_probs * samples.advantages))
            value_terms.append((values - samples.returns) ** 2)
            entropies.append(entropy)
        loss, stats = self.combine_losses(policy_terms, value_terms, entropies, train_policy)
        stats["losses/grad_norm"] = self.apply_gradients(loss)
        return stats
