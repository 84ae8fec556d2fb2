"""SAC (soft actor-critic): twin Q functions with Polyak targets, a stochastic actor and a tuned entropy weight.

Box heads use the reparameterised squashed Gaussian (Haarnoja et al. 2018); a single Discrete head
uses the discrete formulation (Christodoulou 2019), where expectations over actions are exact sums.
Each update adds the rollout to the replay buffer, then takes ``gradient_steps`` steps of: entropy
weight, critics (towards the soft target), actor (against the updated critics), target averaging.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from maze_cli.algorithms.base import module_device
from maze_cli.algorithms.sac_config import SACAlgorithmConfig
from maze_cli.algorithms.optim import GradientStep
from maze_cli.algorithms.replay import ReplayBuffer
from maze_cli.core.errors import ConfigError
from maze_cli.distributions import CategoricalProbabilityDistribution, SquashedGaussianProbabilityDistribution
from maze_cli.distributions.colored_noise import ColoredNoise
from maze_cli.models.policy import TorchPolicy, sample_batch
from maze_cli.models.q_critic import QActionLayout, TorchQCritic
from maze_cli.train.batch import RolloutBatch

logger = logging.getLogger("maze_cli")

REPLAY_FILE = "replay.pt"


def soft_target(rewards: torch.Tensor, terminated: torch.Tensor, next_value: torch.Tensor,
                gamma: float) -> torch.Tensor:
    """``r + gamma * (1 - terminated) * V_soft(s')``: a truncated step (``terminated=0``) bootstraps from its
    final observation, a terminated one does not."""
    return rewards + gamma * (1.0 - terminated) * next_value


def discrete_soft_value(probs: torch.Tensor, log_probs: torch.Tensor, q: torch.Tensor, alpha: torch.Tensor
                        ) -> torch.Tensor:
    """``sum_a pi(a|s) * (Q(s, a) - alpha * log pi(a|s))``; masked actions (``pi = 0``) contribute nothing."""
    return (probs * (q - alpha * log_probs.clamp(min=-1e8))).sum(-1)


def temperature_loss(log_alpha: torch.Tensor, expected_log_prob: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """``-log(alpha) * (E[log pi] + target_entropy)``, averaged: when the policy's entropy ``-E[log pi]`` exceeds the
    target the bracket is negative and a gradient step lowers alpha; below the target it raises alpha."""
    return -(log_alpha * (expected_log_prob + target_entropy).detach()).mean()


def _check_policy(policy: TorchPolicy, layout: QActionLayout) -> None:
    """SAC needs reparameterisable squashed Gaussians for Box heads (or one categorical head): fail before training."""
    if len(policy.networks) != 1 or set(policy.distribution_mappers) != {0}:
        raise ConfigError("algorithm=sac: supports envs with one sub-step and one agent; the policy has networks "
                          f"{sorted(policy.networks)}")
    obs = sample_batch(policy.converters[0].space, policy.converters[0], mask_keys=policy.mask_keys[0].values())
    with torch.no_grad():
        heads = policy.distribution(obs).distributions
    wanted = CategoricalProbabilityDistribution if layout.discrete else SquashedGaussianProbabilityDistribution
    for head, dist in heads.items():
        if not isinstance(dist, wanted):
            raise ConfigError(
                f"algorithm=sac: action head {head!r} uses {type(dist).__name__}, but SAC needs a "
                f"{wanted.__name__} (or subclass) there; use policy=sac, or map Box heads to "
                f"maze_cli.distributions.StateDependentSquashedGaussianProbabilityDistribution in "
                f"policy.distribution_mapper")


class SAC:
    """Soft actor-critic on a replay buffer; the training loop drives it like any other algorithm.

    :param config: the hyper-parameters.
    :param policy: the actor.
    :param critic: twin Q functions (``critic=q``).
    :param max_nonfinite_updates: stop after this many gradient steps in a row with a non-finite loss.
    """

    store_next_observations = True
    critic: Optional[nn.Module] = None  # the collector records no state values

    def __init__(self, config: SACAlgorithmConfig, policy: TorchPolicy, critic: Any, max_nonfinite_updates: int = 10):
        if not isinstance(critic, TorchQCritic):
            raise ConfigError(f"algorithm=sac: needs a state-action critic (critic=q), got {type(critic).__name__}")
        _check_policy(policy, critic.layout)
        self.config, self.policy, self.q = config, policy, critic
        self.layout = critic.layout
        self.rollout_steps = config.train_freq
        self.device = module_device(policy)
        self.replay = ReplayBuffer(config.buffer_size)
        clip = config.max_grad_norm
        self.actor_step = GradientStep(policy.parameters(), config.lr, clip, max_nonfinite_updates)
        self.q_step = GradientStep(critic.online_parameters(), config.critic_lr or config.lr, clip,
                                   max_nonfinite_updates)
        tuned = config.alpha is None
        start = config.init_alpha if tuned else max(config.alpha, 1e-30)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(start), device=self.device), requires_grad=tuned)
        self.alpha_step = GradientStep([self.log_alpha], config.alpha_lr or config.lr, 0.0, max_nonfinite_updates) \
            if tuned else None
        self.target_entropy = self._target_entropy()
        if config.exploration_noise_beta > 0:
            if self.layout.discrete:
                raise ConfigError(f"algorithm.exploration_noise_beta={config.exploration_noise_beta}: colored noise "
                                  f"perturbs Gaussian (Box) action heads, and this policy's head is Discrete; set it "
                                  f"to 0")
            policy.exploration_noise = ColoredNoise(config.exploration_noise_beta, config.exploration_noise_length,
                                                    seed=int(torch.randint(2 ** 31, ()).item()))

    def _target_entropy(self) -> float:
        target = self.config.target_entropy
        if target != "auto":
            return float(target)
        if self.layout.discrete:
            return self.config.target_entropy_scale * math.log(self.layout.n_actions)
        return -float(self.layout.action_dim)

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp().detach() if self.config.alpha is None else \
            torch.tensor(float(self.config.alpha), device=self.device)

    # --- the update ------------------------------------------------------------------------

    def update(self, batch: RolloutBatch, epoch: int, progress: float) -> Dict[str, float]:
        """Stores the rollout; then ``gradient_steps`` steps once ``learning_starts`` transitions are stored."""
        self.replay.add_rollout(batch)
        if len(self.replay) < max(self.config.learning_starts, 1):
            return {}
        steps = [self._gradient_step(self.replay.sample(self.config.batch_size, self.device))
                 for _ in range(self.config.gradient_steps)]
        stats = {key: sum(s[key] for s in steps) / len(steps) for key in steps[0]}
        stats["train/replay_size"] = float(len(self.replay))
        return stats

    def _gradient_step(self, sample: Dict[str, Any]) -> Dict[str, float]:
        obs = sample["observations"]
        actions_now, log_probs_now = self._policy_terms(obs, reparameterise=True)
        stats = {"losses/entropy": -float(self._expected(log_probs_now.detach(), actions_now).mean())}
        if self.alpha_step is not None:
            alpha_loss = temperature_loss(self.log_alpha, self._expected(log_probs_now.detach(), actions_now),
                                          self.target_entropy)
            stats["losses/alpha"] = alpha_loss.item()
            self.alpha_step(alpha_loss)
        alpha = self.alpha
        stats["train/alpha"] = float(alpha)
        stats.update(self._critic_step(sample, alpha))
        self.q.networks.requires_grad_(False)  # the actor's loss trains the actor only
        try:
            q_now = torch.min(*self._q(obs, actions_now))
        finally:
            self.q.networks.requires_grad_(True)
        if self.layout.discrete:
            actor_loss = (actions_now * (alpha * log_probs_now.clamp(min=-1e8) - q_now)).sum(-1).mean()
        else:
            actor_loss = (alpha * log_probs_now - q_now).mean()
        stats["losses/actor"] = actor_loss.item()
        stats["losses/actor_grad_norm"] = self.actor_step(actor_loss)
        self.q.update_targets(self.config.tau)
        return stats

    def _critic_step(self, sample: Dict[str, Any], alpha: torch.Tensor) -> Dict[str, float]:
        with torch.no_grad():
            next_actions, next_log_probs = self._policy_terms(sample["next_observations"], reparameterise=False)
            next_q = torch.min(*self._q(sample["next_observations"], next_actions, target=True))
            next_value = discrete_soft_value(next_actions, next_log_probs, next_q, alpha) if self.layout.discrete \
                else next_q - alpha * next_log_probs
            target = soft_target(sample["rewards"], sample["terminated"], next_value, self.config.gamma)
        q1, q2 = self._q(sample["observations"], self._stored_actions(sample["actions"]))
        if self.layout.discrete:
            index = self._stored_actions(sample["actions"]).unsqueeze(-1)
            q1, q2 = q1.gather(-1, index).squeeze(-1), q2.gather(-1, index).squeeze(-1)
        q1_loss, q2_loss = ((q1 - target) ** 2).mean(), ((q2 - target) ** 2).mean()
        grad_norm = self.q_step(q1_loss + q2_loss)
        return {"losses/q1": q1_loss.item(), "losses/q2": q2_loss.item(), "losses/q_grad_norm": grad_norm,
                "train/q_mean": q1.detach().mean().item()}

    # --- policy and Q in the layout's terms ---------------------------------------------------

    def _policy_terms(self, obs: Dict[str, torch.Tensor], reparameterise: bool) -> Tuple[torch.Tensor, torch.Tensor]:
        """Continuous: ``(action in [-1, 1], log-density)`` of a sample. Discrete: ``(probabilities, log-probs)``
        of every action (``reparameterise`` is moot: the expectation is an exact sum)."""
        heads = self.policy.distribution(obs).distributions
        if self.layout.discrete:
            log_probs = heads[self.layout.heads[0]].log_probs
            return log_probs.exp(), log_probs
        parts = [heads[head].rsample_unit() for head in self.layout.heads]
        if not reparameterise:
            parts = [(a.detach(), lp.detach()) for a, lp in parts]
        return torch.cat([a for a, _ in parts], dim=-1), sum(lp for _, lp in parts)

    def _expected(self, log_probs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``E[log pi]`` per state: the sample's log-density, or the exact sum over a discrete head's actions."""
        return (actions.detach() * log_probs.clamp(min=-1e8)).sum(-1) if self.layout.discrete else log_probs

    def _stored_actions(self, actions: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Replay actions in Q's terms: action indices (discrete) or ``tanh(u)`` of the stored pre-squash samples."""
        if self.layout.discrete:
            space = self.policy.distribution_mappers[0].action_space[self.layout.heads[0]]
            return actions[self.layout.heads[0]].long() - int(space.start)
        return torch.cat([torch.tanh(actions[head].float()) for head in self.layout.heads], dim=-1)

    def _q(self, obs: Dict[str, torch.Tensor], actions: torch.Tensor, target: bool = False):
        return self.q.q_values(obs, None if self.layout.discrete else actions, target)

    # --- state ------------------------------------------------------------------------------

    def models(self) -> Dict[str, nn.Module]:
        return {"policy": self.policy, "critic": self.q}

    def state_dict(self) -> Dict[str, Any]:
        state = {"actor_optimizer": self.actor_step.optimizer.state_dict(),
                 "critic_optimizer": self.q_step.optimizer.state_dict(), "log_alpha": self.log_alpha.detach().clone()}
        if self.alpha_step is not None:
            state["alpha_optimizer"] = self.alpha_step.optimizer.state_dict()
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.actor_step.optimizer.load_state_dict(state["actor_optimizer"])
        self.q_step.optimizer.load_state_dict(state["critic_optimizer"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        if self.alpha_step is not None and "alpha_optimizer" in state:
            self.alpha_step.optimizer.load_state_dict(state["alpha_optimizer"])

    def save_side_state(self, checkpoint_dir: Path) -> None:
        """Writes the replay buffer beside ``last.pt`` (``save_replay``), so resume continues exactly."""
        if self.config.save_replay:
            self.replay.save(checkpoint_dir / REPLAY_FILE)

    def load_side_state(self, checkpoint_dir: Path) -> None:
        path = checkpoint_dir / REPLAY_FILE
        if path.is_file():
            self.replay.load(path)
            logger.info(f"replay buffer restored from {path} ({len(self.replay)} transitions)")
        else:
            logger.warning(f"{path} does not exist (algorithm.save_replay=false?): resuming with an empty replay "
                           f"buffer; gradient steps restart after {self.config.learning_starts} env steps")
