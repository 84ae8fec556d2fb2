"""Pieces A2C and PPO share, as plain functions and one small base: the on-policy actor-critic setup."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import nn

from maze_cli.algorithms.adam import FusedAdam
from maze_cli.algorithms.config import OnPolicyAlgorithmConfig
from maze_cli.algorithms.optim import GradientStep
from maze_cli.algorithms.reward_scaling import RewardScaler
from maze_cli.core.scalars import mean, scalar
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.samples import TrainingSamples, actor_samples


def loss_terms(policy: TorchPolicy, critic: TorchStateCritic, samples: TrainingSamples,
               idx: Optional[slice] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-probs, entropy and values of (a minibatch ``idx`` of) one actor's samples under the current weights."""
    def select(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return tensors if idx is None else {k: v[idx] for k, v in tensors.items()}
    obs = select(samples.observations)
    dist = policy.distribution(obs, samples.actor_id)
    critic_obs = obs if samples.critic_observations is None else select(samples.critic_observations)
    return (dist.log_prob(select(samples.actions)), dist.entropy(),
            critic.predict_value(critic_obs, samples.actor_id[0]))


def joined(terms: List[torch.Tensor]) -> torch.Tensor:
    """Per-sample terms of all actors as one tensor; one actor's as they are (a cat is an op forward and back)."""
    return terms[0] if len(terms) == 1 else torch.cat(terms)


def weighted_loss(config: OnPolicyAlgorithmConfig, policy_terms: List[torch.Tensor], value_terms: List[torch.Tensor],
                  entropies: List[torch.Tensor], train_policy: bool) -> Tuple[torch.Tensor, Dict[str, float]]:
    """The weighted loss from per-sample terms of all actors, and its ``losses/...`` statistics.

    Policy and entropy terms are left out while the critic burns in (``train_policy`` false), and the
    entropy term when its weight is 0: it would add nothing but backward work.
    """
    policy_loss = mean(joined(policy_terms))
    value_loss = mean(joined(value_terms))
    entropy = mean(joined(entropies))
    loss = scalar(config.value_loss_coef) * value_loss
    if train_policy:
        loss = loss + scalar(config.policy_loss_coef) * policy_loss
        if config.entropy_coef:
            loss = loss - scalar(config.entropy_coef) * entropy
    return loss, {"losses/policy_loss": policy_loss.item(), "losses/value_loss": value_loss.item(),
                  "losses/entropy": entropy.item()}


class ActorCritic:
    """State both on-policy algorithms hold: policy, critic, their optimiser, and the device updates run on.

    :param config: the algorithm's hyper-parameters.
    :param policy: the policy to train.
    :param critic: its state-value critic.
    :param max_nonfinite_updates: stop after this many updates in a row with a non-finite loss or gradient.
    """

    store_next_observations = False

    def __init__(self, config: OnPolicyAlgorithmConfig, policy: TorchPolicy, critic: TorchStateCritic,
                 max_nonfinite_updates: int = 10):
        self.config = config
        self.policy = policy
        self.critic = critic
        self.rollout_steps = config.n_rollout_steps
        self.device = next(policy.parameters()).device
        # each tensor once: policy and critic may share encoders (critic.share_encoders)
        parameters = list(dict.fromkeys([*policy.parameters(), *critic.parameters()]))
        self.gradient_step = GradientStep(parameters, config.lr,
                                          config.max_grad_norm, max_nonfinite_updates)
        self.reward_scaler = RewardScaler(config.gamma) if config.normalize_rewards else None

    @property
    def optimizer(self) -> FusedAdam:
        return self.gradient_step.optimizer

    def start_update(self, epoch: int, progress: float) -> Tuple[bool, Dict[str, float]]:
        """Applies the learning-rate schedule; ``(train the policy?, statistics)`` for this update."""
        learning_rate = self.config.learning_rate(progress)
        self.gradient_step.set_learning_rate(learning_rate)
        return epoch >= self.config.critic_burn_in_epochs, {"train/learning_rate": learning_rate}

    def training_samples(self, batch: RolloutBatch, stats: Dict[str, float]) -> List[TrainingSamples]:
        """Per-actor advantages and returns of a rollout, from scaled rewards when ``normalize_rewards``."""
        cfg = self.config
        if self.reward_scaler is not None:
            batch = self.reward_scaler(batch)
            stats["train/reward_scale"] = self.reward_scaler.scale
        return actor_samples(batch.to(self.device), cfg.gamma, cfg.gae_lambda, cfg.normalize_advantages)

    def models(self) -> Dict[str, nn.Module]:
        return {"policy": self.policy, "critic": self.critic}

    def state_dict(self) -> Dict[str, Any]:
        state = {"optimizer": self.optimizer.state_dict()}
        if self.reward_scaler is not None:
            state["reward_scaler"] = self.reward_scaler.state_dict()
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.reward_scaler is not None and "reward_scaler" in state:
            self.reward_scaler.load_state_dict(state["reward_scaler"])
