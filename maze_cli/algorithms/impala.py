"""IMPALA's learner (Espeholt et al. 2018): actor-critic on rollouts that older weights acted, corrected by V-trace.

The asynchrony lives in the runner's collector (:meth:`~maze_cli.runners.base.Runner.make_async_collector`):
actors keep acting with the weights they last received while this learner updates. Each rollout records
the behaviour policy's log-probabilities and what every step returned, so the learner values the next
observations with its current critic and weighs every step by ``pi / mu``.
"""
from __future__ import annotations

import math
from typing import Dict

import torch

from maze_cli.algorithms.actor_critic import ActorCritic, weighted_loss
from maze_cli.algorithms.config import IMPALAAlgorithmConfig
from maze_cli.algorithms.returns import normalize_advantages
from maze_cli.algorithms.vtrace import vtrace
from maze_cli.core.errors import ConfigError
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.batch import RolloutBatch, TensorDict


def _flat(tensors: TensorDict) -> TensorDict:
    """``(T, n, ...)`` -> ``(T * n, ...)``."""
    return {key: value.reshape(-1, *value.shape[2:]) for key, value in tensors.items()}


class IMPALA(ActorCritic):
    """V-trace policy gradient and value regression on the rollouts of asynchronous actors.

    Supports envs with one sub-step and one agent (what the actors record as next observations).
    """

    store_next_observations = True
    asynchronous = True

    def __init__(self, config: IMPALAAlgorithmConfig, policy: TorchPolicy, critic: TorchStateCritic,
                 max_nonfinite_updates: int = 10):
        if set(policy.networks) != {"0"} or set(policy.distribution_mappers) != {0}:
            raise ConfigError("algorithm=impala: supports envs with one sub-step and one agent; the policy has "
                              f"networks {sorted(policy.networks)}")
        if not isinstance(critic, TorchStateCritic) or critic.stacking is not None:
            raise ConfigError(f"algorithm=impala: needs a state critic of the sub-step's own observation "
                              f"(critic=default), got {type(critic).__name__}")
        super().__init__(config, policy, critic, max_nonfinite_updates)

    def update(self, batch: RolloutBatch, epoch: int, progress: float) -> Dict[str, float]:
        cfg = self.config
        train_policy, stats = self.start_update(epoch, progress)
        if self.reward_scaler is not None:
            batch = self.reward_scaler(batch)
            stats["train/reward_scale"] = self.reward_scaler.scale
        batch = batch.to(self.device)
        shape = batch.rewards.shape
        obs, next_obs = _flat(batch.observations[0]), _flat(batch.next_observations[0])
        dist = self.policy.distribution(obs)
        log_probs = dist.log_prob(_flat(batch.actions[0]))
        values = self.critic.predict_value(obs)
        with torch.no_grad():
            next_values = self.critic.predict_value(next_obs).reshape(shape)
            log_rhos = log_probs.detach().reshape(shape) - batch.log_probs
            targets = vtrace(log_rhos, batch.rewards, values.detach().reshape(shape), next_values,
                             batch.terminated, batch.episode_end, batch.valid, cfg.gamma, cfg.gae_lambda,
                             cfg.rho_bar, cfg.c_bar, cfg.pg_rho_bar)
        valid = batch.valid.reshape(-1)
        advantages = targets.pg_advantages.reshape(-1)[valid]
        if cfg.normalize_advantages:
            advantages = normalize_advantages(advantages)
        loss, loss_stats = weighted_loss(cfg, [-(log_probs[valid] * advantages)],
                                         [(values[valid] - targets.vs.reshape(-1)[valid]) ** 2],
                                         [dist.entropy()[valid]], train_policy)
        loss_stats["losses/grad_norm"] = self.gradient_step(loss)
        valid_log_rhos = log_rhos[batch.valid]
        clipped = valid_log_rhos > math.log(cfg.rho_bar) + 1e-5  # not float noise of identical weights
        stats.update({"impala/rho_mean": float(valid_log_rhos.exp().mean()),
                      "impala/rho_clipped_fraction": float(clipped.float().mean())})
        return {**stats, **loss_stats}
