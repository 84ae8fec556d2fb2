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
                      clip_range: float) -> torch.Tensor:
    """Per-sample PPO policy loss ``-min(r * A, clip(r, 1 - eps, 1 + eps) * A)``.

    ``r = pi(a|s) / pi_old(a|s)``. Taking the minimum makes the objective a pessimistic bound:
    moving ``r`` beyond the clip range in the direction the advantage rewards earns nothing.
    """
    ratio = torch.exp(log_probs - old_log_probs)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * advantages
    return -torch.min(unclipped, clipped)


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
        samples = prepare_samples(batch, self.config.gamma, self.config.gae_lambda)
        applied: List[Dict[str, float]] = []
        epochs_done = 0
        for _ in range(self.config.n_optimization_epochs):
            if not self._optimization_epoch(samples, train_policy, applied):
                break
            epochs_done += 1
        # Before the first step the policy equals the rollout's (KL 0), so at least one step is applied.
        result = {key: sum(s[key] for s in applied) / len(applied) for key in applied[0]}
        result["losses/optimization_epochs"] = float(epochs_done)
        result["losses/minibatch_steps"] = float(len(applied))
        return result

    def _optimization_epoch(self, samples: List[TrainingSamples], train_policy: bool,
                            applied: List[Dict[str, float]]) -> bool:
        """One shuffled pass of minibatch steps (statistics appended to ``applied``); False if target_kl stopped it."""
        target_kl = self.config.target_kl
        for minibatch in minibatches(samples, self.config.batch_size):
            stats, loss = self._minibatch_loss(minibatch, train_policy)
            if target_kl is not None and stats["losses/approx_kl"] > target_kl:
                return False
            stats["losses/grad_norm"] = self.apply_gradients(loss)
            applied.append(stats)
        return True

    def _minibatch_loss(self, minibatch: Minibatch, train_policy: bool) -> Tuple[Dict[str, float], torch.Tensor]:
        cfg = self.config
        policy_terms, value_terms, entropies, log_ratios = [], [], [], []
        for samples, idx in minibatch:
            log_probs, entropy, values = self.loss_terms(samples, idx)
            old_log_probs = samples.old_log_probs[idx]
            policy_terms.append(clipped_surrogate(log_probs, old_log_probs, samples.advantages[idx], cfg.clip_range))
            value_terms.append(value_error(values, samples.old_values[idx], samples.returns[idx], cfg.clip_range_vf))
            entropies.append(entropy)
            log_ratios.append(log_probs.detach() - old_log_probs)
        loss, stats = self.combine_losses(policy_terms, value_terms, entropies, train_policy)
        log_ratio = torch.cat(log_ratios)
        stats["losses/approx_kl"] = approx_kl(log_ratio).item()
        stats["losses/clip_fraction"] = ((log_ratio.exp() - 1.0).abs() > cfg.clip_range).float().mean().item()
        return stats, loss
