"""PPO (proximal policy optimisation, Schulman et al. 2017, clipped variant): minibatch epochs per rollout."""
from __future__ import annotations

import itertools
import math
from typing import Dict, List, Optional, Tuple

import torch

from maze_cli.algorithms.actor_critic import ActorCritic, joined, loss_terms, weighted_loss
from maze_cli.core.scalars import scalar, squared
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.samples import TrainingSamples

Minibatch = List[Tuple[TrainingSamples, slice]]


def clipped_surrogate(ratio: torch.Tensor, advantages: torch.Tensor, clip_range: float) -> torch.Tensor:
    """Per-sample PPO policy loss ``-min(r * A, clip(r, 1 - eps, 1 + eps) * A)``.

    ``ratio`` is ``r = pi(a|s) / pi_old(a|s)``. Taking the minimum makes the objective a pessimistic bound:
    moving ``r`` beyond the clip range in the direction the advantage rewards earns nothing.
    """
    unclipped = ratio * advantages
    clipped = ratio.clamp(scalar(1.0 - clip_range), scalar(1.0 + clip_range)) * advantages
    return -torch.min(unclipped, clipped)


def value_error(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
                clip_range_vf: Optional[float]) -> torch.Tensor:
    """Per-sample squared value error; with ``clip_range_vf`` the larger of clipped and unclipped errors.

    The clipped prediction stays within ``clip_range_vf`` of the value recorded in the rollout.
    """
    error = squared(values - returns)
    if clip_range_vf is None:
        return error
    clipped = old_values + (values - old_values).clamp(scalar(-clip_range_vf), scalar(clip_range_vf))
    return torch.max(error, squared(clipped - returns))


def approx_kl(ratio: torch.Tensor, log_ratio: torch.Tensor) -> torch.Tensor:
    """Low-variance, non-negative estimate of KL(pi_old || pi): ``E[(r - 1) - log r]``."""
    return ((ratio - 1.0) - log_ratio).mean()


def ratio_statistics(ratios: List[torch.Tensor], log_ratios: List[torch.Tensor], clip_range: float) -> Dict[str, float]:
    """``losses/approx_kl`` and ``losses/clip_fraction`` over the samples of an update's applied minibatch steps.

    Computed once per update from the steps' detached ratios: per minibatch they were ten ops and two host reads
    a step, and PPO's per-step overhead is what small batches pay for.
    """
    ratio, log_ratio = joined(ratios), joined(log_ratios)
    return {"losses/approx_kl": approx_kl(ratio, log_ratio).item(),
            "losses/clip_fraction": ((ratio - 1.0).abs() > clip_range).float().mean().item()}


def shuffled(samples: TrainingSamples, order: torch.Tensor) -> TrainingSamples:
    """``samples`` with their rows in ``order``."""
    def take(tensors: Optional[Dict[str, torch.Tensor]]) -> Optional[Dict[str, torch.Tensor]]:
        return None if tensors is None else {key: value[order] for key, value in tensors.items()}
    return samples._replace(observations=take(samples.observations), actions=take(samples.actions),
                            old_log_probs=samples.old_log_probs[order], old_values=samples.old_values[order],
                            advantages=samples.advantages[order], returns=samples.returns[order],
                            critic_observations=take(samples.critic_observations))


def minibatches(samples: List[TrainingSamples], batch_size: int) -> List[Minibatch]:
    """One shuffled pass over all actors' samples in minibatches of about ``batch_size`` transitions.

    Each minibatch takes the same share of every actor's samples, so the networks of a
    structured env are updated side by side. Each actor's samples are gathered once in shuffled
    order and the minibatches are slices of them (views): one gather per tensor per pass, not per minibatch.
    """
    total = sum(len(s.returns) for s in samples)
    n_minibatches = max(1, math.ceil(total / batch_size))
    if n_minibatches == 1:  # the loss is a mean over all samples, whatever their order: nothing to shuffle
        return [[(s, slice(0, len(s.returns))) for s in samples if len(s.returns)]]
    passes = []
    for s in samples:
        order = torch.randperm(len(s.returns), device=s.returns.device)
        bounds = [0, *itertools.accumulate(len(chunk) for chunk in torch.tensor_split(order, n_minibatches))]
        passes.append((shuffled(s, order), [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]))
    return [[(s, rows[i]) for s, rows in passes if rows[i].stop > rows[i].start] for i in range(n_minibatches)]


class PPO(ActorCritic):
    """Several shuffled passes of minibatch steps per rollout on the clipped surrogate objective.

    With ``target_kl`` the remaining minibatches of an update are skipped once the approximate KL
    divergence from the rollout's policy exceeds it (the first step is always taken: KL starts at 0).
    """

    def update(self, batch: RolloutBatch, epoch: int, progress: float) -> Dict[str, float]:
        cfg = self.config
        train_policy, stats = self.start_update(epoch, progress)
        samples = self.training_samples(batch, stats)
        clip_range = stats["train/clip_range"] = cfg.clip_at(progress)
        applied: List[Dict[str, float]] = []
        ratios: List[torch.Tensor] = []
        log_ratios: List[torch.Tensor] = []
        epochs_done = 0
        for _ in range(cfg.n_optimization_epochs):
            stopped = False
            for minibatch in minibatches(samples, cfg.batch_size):
                step_stats, loss, ratio, log_ratio = self._minibatch_loss(minibatch, train_policy, clip_range)
                if cfg.target_kl is not None and approx_kl(ratio, log_ratio).item() > cfg.target_kl:
                    stopped = True
                    break
                step_stats["losses/grad_norm"] = self.gradient_step(loss)
                applied.append(step_stats)
                ratios.append(ratio)
                log_ratios.append(log_ratio)
            if stopped:
                break
            epochs_done += 1
        stats.update({key: sum(s[key] for s in applied) / len(applied) for key in applied[0]})
        stats.update(ratio_statistics(ratios, log_ratios, clip_range))
        stats["losses/optimization_epochs"] = float(epochs_done)
        stats["losses/minibatch_steps"] = float(len(applied))
        return stats

    def _minibatch_loss(self, minibatch: Minibatch, train_policy: bool, clip_range: float
                        ) -> Tuple[Dict[str, float], torch.Tensor, torch.Tensor, torch.Tensor]:
        """The minibatch's loss and its statistics, and its detached policy ratios and their logs."""
        cfg = self.config
        policy_terms, value_terms, entropies, ratios, log_ratios = [], [], [], [], []
        for samples, idx in minibatch:
            log_probs, entropy, values = loss_terms(self.policy, self.critic, samples, idx)
            log_ratio = log_probs - samples.old_log_probs[idx]
            ratio = torch.exp(log_ratio)  # once, for the loss and both statistics
            policy_terms.append(clipped_surrogate(ratio, samples.advantages[idx], clip_range))
            value_terms.append(value_error(values, samples.old_values[idx], samples.returns[idx], cfg.clip_range_vf))
            entropies.append(entropy)
            ratios.append(ratio.detach())
            log_ratios.append(log_ratio.detach())
        loss, stats = weighted_loss(cfg, policy_terms, value_terms, entropies, train_policy)
        return stats, loss, joined(ratios), joined(log_ratios)
