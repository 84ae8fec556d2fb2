"""Behavioural cloning: fit the policy to recorded decisions by maximum likelihood.

The loss is the negative log-likelihood of each recorded env action under the policy's distribution for
that observation (``from_env_action`` turns env actions back into the distribution's samples, e.g. ``atanh``
for squashed Gaussians), so every action space works. In a structured env every policy network learns from
the decisions of its own sub-step (and agent, with separate agent networks).

The training loop still collects ``rollout_steps = 1`` env step per env before each update: BC ignores that
batch, so the collector costs next to nothing, while the loop's evaluation in the env each epoch feeds model
selection, checkpoints and stop rules exactly as for RL. With observation normalisation, the statistics are
those of the recorded observations (not of random actions, nor of the loop's ignored steps): the clone's
inputs then mean what they will mean when it acts in the recorded controller's states, and an RL run
warm-started from it (``policy.init_from``) continues from statistics its own rollouts barely move.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from maze_cli.algorithms.base import module_device
from maze_cli.algorithms.bc_config import BCAlgorithmConfig
from maze_cli.algorithms.optim import GradientStep
from maze_cli.distributions import (BernoulliProbabilityDistribution, CategoricalProbabilityDistribution,
                                    MultiCategoricalProbabilityDistribution)
from maze_cli.imitation.dataset import DatasetError, Trajectories, check_spaces, episode_split, load_trajectories
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.batch import RolloutBatch

logger = logging.getLogger("maze_cli")

DISCRETE_HEADS = (CategoricalProbabilityDistribution, MultiCategoricalProbabilityDistribution,
                  BernoulliProbabilityDistribution)
EVAL_CHUNK = 4096


@dataclass
class DecisionGroup:
    """The decisions one policy network learns from: converted observations and raw env actions.

    :attr actor_id: an actor whose network (and sub-step distribution) these decisions belong to.
    """

    actor_id: Tuple[int, int]
    observations: Dict[str, torch.Tensor]
    actions: Dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(next(iter(self.actions.values())))

    def take(self, index: torch.Tensor) -> "DecisionGroup":
        return DecisionGroup(self.actor_id, {k: v[index] for k, v in self.observations.items()},
                             {k: v[index] for k, v in self.actions.items()})


def decision_groups(data: Trajectories, policy: TorchPolicy, episodes: np.ndarray, device: torch.device
                    ) -> List[DecisionGroup]:
    """The decisions of ``episodes``, grouped by the policy network that takes them."""
    groups = []
    for step in sorted(data.actions):
        in_step = data.rows["sub_step"] == step
        agents, episode = data.rows["agent"][in_step], data.rows["episode"][in_step]
        keys = np.asarray([policy.network_key((step, int(agent))) for agent in agents])
        for key in sorted(set(keys.tolist())):
            rows = np.flatnonzero((keys == key) & np.isin(episode, episodes))
            if len(rows) == 0:
                continue
            observations = policy.converters[step]({k: v[rows] for k, v in data.observations[step].items()})
            groups.append(DecisionGroup(
                (step, int(agents[rows[0]])), {k: v.to(device) for k, v in observations.items()},
                {h: torch.as_tensor(v[rows]).to(device) for h, v in data.actions[step].items()}))
    return groups


class BC:
    """Behavioural cloning; the training loop drives it like any other algorithm.

    :param config: the hyper-parameters (``dataset`` is loaded and checked against the policy's spaces here,
        before training).
    :param policy: the policy to train.
    :param critic: unused (the loop's collector records no values for BC).
    :param max_nonfinite_updates: stop after this many gradient steps in a row with a non-finite loss.
    """

    critic: Optional[nn.Module] = None
    store_next_observations = False
    rollout_steps = 1
    observation_statistics_from_rollouts = False

    def __init__(self, config: BCAlgorithmConfig, policy: TorchPolicy, critic: Any = None,
                 max_nonfinite_updates: int = 10):
        self.config, self.policy = config, policy
        self.device = module_device(policy)
        paths = [config.dataset] if isinstance(config.dataset, str) else list(config.dataset)
        data = load_trajectories(paths)
        where = f"algorithm.dataset={paths[0] if len(paths) == 1 else paths}"
        check_spaces(data.manifest, {s: c.space for s, c in policy.converters.items()},
                     {s: m.action_space for s, m in policy.distribution_mappers.items()}, where)
        if len(data.rows["episode"]) == 0:
            raise DatasetError(f"{where}: the dataset holds no decisions (0 complete episodes recorded)")
        train_episodes, validation_episodes = episode_split(int(data.manifest["episodes"]), config.validation_split)
        if len(train_episodes) == 0:
            raise DatasetError(f"algorithm.validation_split={config.validation_split} holds out all "
                               f"{data.manifest['episodes']} episodes of {where}: lower it or record more episodes")
        self.train_groups = decision_groups(data, policy, train_episodes, self.device)
        self.validation_groups = decision_groups(data, policy, validation_episodes, self.device)
        self._sizes = torch.tensor([len(g) for g in self.train_groups])
        if policy.observation_normalizer is not None:
            policy.observation_normalizer.fit([group.observations for group in self.train_groups])
        if not self.validation_groups:
            logger.warning(f"bc: algorithm.validation_split={config.validation_split} holds out none of the "
                           f"{data.manifest['episodes']} episodes: no validation statistics")
        logger.info(f"bc: {int(self._sizes.sum())} training decisions of {len(train_episodes)} episodes, "
                    f"{sum(len(g) for g in self.validation_groups)} validation decisions of "
                    f"{len(validation_episodes)} episodes (recorded return mean "
                    f"{np.mean(data.manifest['returns']):.2f})")
        self.step = GradientStep(policy.parameters(), config.lr, config.max_grad_norm, max_nonfinite_updates)
        self.updates = 0

    def nll(self, group: DecisionGroup) -> torch.Tensor:
        """Negative log-likelihood of each recorded action of ``group``, shape ``(len(group),)``."""
        dist = self.policy.distribution(group.observations, group.actor_id)
        return -dist.log_prob(dist.from_env_actions(group.actions))

    def update(self, batch: RolloutBatch, epoch: int, progress: float) -> Dict[str, float]:
        """``gradient_steps`` minibatch steps on the recorded decisions (``batch`` is not used); the last
        update of an epoch also reports the validation NLL and action accuracy (when episodes are held out)."""
        losses = []
        for _ in range(self.config.gradient_steps):
            index = torch.randint(int(self._sizes.sum()), (self.config.batch_size,))
            total = torch.zeros((), device=self.device)
            start = 0
            for group, size in zip(self.train_groups, self._sizes.tolist()):
                rows = index[(index >= start) & (index < start + size)] - start
                start += size
                if len(rows):
                    total = total + self.nll(group.take(rows.to(self.device))).sum()
            loss = total / self.config.batch_size
            self.step(loss)
            losses.append(loss.item())
        self.updates += 1
        stats = {"losses/bc_nll": float(np.mean(losses))}
        if self.validation_groups and self.updates % self.config.epoch_length == 0:
            stats.update(self.evaluate(self.validation_groups, "validation"))
        return stats

    @torch.no_grad()
    def evaluate(self, groups: List[DecisionGroup], name: str) -> Dict[str, float]:
        """Mean NLL of ``groups`` and, with discrete heads, the share of decisions whose mode matches every
        recorded discrete action."""
        nll, matches, count, has_discrete = 0.0, 0.0, 0, False
        for group in groups:
            for start in range(0, len(group), EVAL_CHUNK):
                chunk = group.take(torch.arange(start, min(start + EVAL_CHUNK, len(group)), device=self.device))
                dist = self.policy.distribution(chunk.observations, chunk.actor_id)
                nll += float(-dist.log_prob(dist.from_env_actions(chunk.actions)).sum())
                count += len(chunk)
                match = torch.ones(len(chunk), dtype=torch.bool, device=self.device)
                for head, head_dist in dist.distributions.items():
                    if isinstance(head_dist, DISCRETE_HEADS):
                        has_discrete = True
                        equal = head_dist.deterministic_sample().to(chunk.actions[head].dtype) == chunk.actions[head]
                        match &= equal.reshape(len(chunk), -1).all(-1)
                matches += float(match.sum())
        stats = {f"losses/bc_{name}_nll": nll / max(count, 1)}
        if has_discrete:
            stats[f"train/bc_{name}_accuracy"] = matches / max(count, 1)
        return stats

    def models(self) -> Dict[str, nn.Module]:
        return {"policy": self.policy}

    def state_dict(self) -> Dict[str, Any]:
        return {"optimizer": self.step.optimizer.state_dict(), "bc_updates": self.updates}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.step.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state["bc_updates"])
