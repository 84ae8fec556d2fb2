"""A2C: one policy-gradient step per rollout, on GAE advantages."""
from __future__ import annotations

from typing import Dict

import torch

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
        policy_loss = torch.cat(policy_terms).mean()
        value_loss = torch.cat(value_terms).mean()
        entropy_mean = torch.cat(entropies).mean()
        loss = cfg.value_loss_coef * value_loss
        if train_policy:
            loss = loss + cfg.policy_loss_coef * policy_loss - cfg.entropy_coef * entropy_mean
        grad_norm = self.apply_gradients(loss)
        return {"losses/policy_loss": policy_loss.item(), "losses/value_loss": value_loss.item(),
                "losses/entropy": entropy_mean.item(), "losses/grad_norm": grad_norm}
