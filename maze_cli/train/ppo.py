"""PPO: several epochs of minibatch steps per rollout on a clipped surrogate objective.

Everything else (rollouts, GAE, evaluation, model selection, checkpoints, learning-rate
schedule) is the shared :class:`~maze_cli.train.trainer.OnPolicyTrainer` loop.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import torch

from maze_cli.train.rollout import RolloutBatch
from maze_cli.train.trainer import OnPolicyTrainer, TrainingSamples, prepare_samples

Minibatch = List[Tuple[TrainingSamples, torch.Tensor]]


def clipped_surrogate(log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
                      clip_range: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-sample PPO policy loss ``-min(r * A, clip(r, 1 - eps, 1 + eps) * A)`` and the ratio ``r``.

    ``r = pi(a|s) / pi_old(a|s)``. Taking the minimum makes the objective a pessimistic bound:
    moving ``r`` beyond the clip range in the direction the advantage rewards earns nothing.
    """
    ratio = torch.exp(log_probs - old_log_probs)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * advantages
    return -torch.min(unclipped, clipped), ratio


def value_error(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
                clip_range_vf: Optional[float]) -> torch.Tensor:
    """Per-sample squared value error; with ``clip_range_vf`` the larger of clipped and unclipped errors.

    The clipped prediction stays within ``clip_range_vf`` of the value recorded in the rollout.
    """
    error = (values - returns) ** 2
    if clip_range_vf is None:
        return error
    clipped = old_values + (values - old_values).clamp(-clip_range_vf, clip_range_vf)
    return torch.max(error, (clipped - returns) ** 2)


def approx_kl(log_ratio: torch.Tensor) -> torch.Tensor:
    """Low-variance, non-negative estimate of KL(pi_old || pi): ``E[(r - 1) - log r]``."""
    return ((torch.exp(log_ratio) - 1.0) - log_ratio).mean()


def minibatches(samples: List[TrainingSamples], batch_size: int) -> List[Minibatch]:
    """One shuffled pass over all actors' samples in minibatches of about ``batch_size`` transitions.

    Each minibatch takes the same share of every actor's samples, so the networks of a
    structured env are updated side by side.
    """
    total = sum(len(s.returns) for s in samples)
    n_minibatches = max(1, math.ceil(total / batch_size))
    chunks = [torch.tensor_split(torch.randperm(len(s.returns)), n_minibatches)
              for s in samples]
    return [[(s, chunk[i]) for s, chunk in zip(samples, chunks) if len(chunk[i])] for i in range(n_minibatches)]


class PPOTrainer(OnPolicyTrainer):
    """Proximal policy optimisation (Schulman et al. 2017), clipped variant."""

    def update(self, batch: RolloutBatch, train_policy: bool) -> Dict[str, float]:
        cfg = self.config
        samples = prepare_samples(batch, cfg.gamma, cfg.gae_lambda)
        applied: List[Dict[str, float]] = []
        epochs_done = 0
        for _ in range(cfg.n_optimization_epochs):
            for minibatch in minibatches(samples, cfg.batch_size):
                stats, loss = self._minibatch_loss(minibatch, train_policy)
                if cfg.target_kl is not None and stats["losses/approx_kl"] > cfg.target_kl:
                    break
                stats["losses/grad_norm"] = self.apply_gradients(loss)
                applied.append(stats)
            else:
                epochs_done += 1
                continue
            break
        # Before any step the policy equals the rollout's (KL 0), so at least one step is always applied.
        result = {key: sum(s[key] for s in applied) / len(applied) for key in applied[0]}
        result["losses/optimization_epochs"] = float(epochs_done)
        result["losses/minibatch_steps"] = float(len(applied))
        return result

    def _minibatch_loss(self, minibatch: Minibatch, train_policy: bool) -> Tuple[Dict[str, float], torch.Tensor]:
        cfg = self.config
        policy_terms, value_terms, entropies, log_ratios, ratios = [], [], [], [], []
        for samples, idx in minibatch:
            log_probs, entropy, values = self.loss_terms(samples, idx)
            old_log_probs = samples.old_log_probs[idx]
            loss, ratio = clipped_surrogate(log_probs, old_log_probs, samples.advantages[idx], cfg.clip_range)
            policy_terms.append(loss)
            value_terms.append(value_error(values, samples.old_values[idx], samples.returns[idx], cfg.clip_range_vf))
            entropies.append(entropy)
            log_ratios.append(log_probs.detach() - old_log_probs)
            ratios.append(ratio.detach())
        policy_loss = torch.cat(policy_terms).mean()
        value_loss = torch.cat(value_terms).mean()
        entropy_mean = torch.cat(entropies).mean()
        loss = cfg.value_loss_coef * value_loss
        if train_policy:
            loss = loss + cfg.policy_loss_coef * policy_loss - cfg.entropy_coef * entropy_mean
        ratio = torch.cat(ratios)
        stats = {"losses/policy_loss": policy_loss.item(), "losses/value_loss": value_loss.item(),
                 "losses/entropy": entropy_mean.item(), "losses/approx_kl": approx_kl(torch.cat(log_ratios)).item(),
                 "losses/clip_fraction": ((ratio - 1.0).abs() > cfg.clip_range).float().mean().item()}
        return stats, loss
