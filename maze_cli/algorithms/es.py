"""Evolution strategies (Salimans et al. 2017): perturb the policy's weights, score each perturbation by an
episode's return, and move the weights towards the better-scoring perturbations.

No gradient flows through the policy, so ES also trains policies whose networks cannot be differentiated,
and its cost per generation is whole episodes that spread over every env worker. Perturbations are
antithetic pairs (``+eps``, ``-eps``) whose noise is a slice of a fixed Gaussian noise table, so a member is
named by one integer (its slice's offset) and the table is rebuilt from its seed instead of checkpointed.
Fitness is shaped into centred ranks, which makes the update invariant to the reward scale and robust to
outlier episodes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

import numpy as np
import torch
from torch import nn

from maze_cli.algorithms.adam import FusedAdam
from maze_cli.algorithms.es_config import ESAlgorithmConfig
from maze_cli.core.errors import ConfigError
from maze_cli.models.policy import TorchPolicy

TensorDict = Dict[str, torch.Tensor]


class NoiseTable:
    """A fixed block of standard-normal float32 noise; ``slice(offset, n)`` is a perturbation direction.

    :param size: entries; must exceed the number of perturbed weights.
    :param seed: the table is a pure function of it (rebuilt on resume).
    """

    def __init__(self, size: int, seed: int):
        self.noise = torch.from_numpy(np.random.default_rng(seed).standard_normal(size, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.noise)

    def slices(self, offsets: np.ndarray, n: int) -> torch.Tensor:
        """``(len(offsets), n)``: the ``n`` entries from each offset."""
        index = torch.as_tensor(offsets, dtype=torch.int64)[:, None] + torch.arange(n)
        return self.noise[index]


def centered_ranks(fitness: np.ndarray) -> np.ndarray:
    """Each value's rank, scaled to [-0.5, 0.5] (ties broken by position): the worst is -0.5, the best 0.5."""
    flat = fitness.ravel()
    ranks = np.empty(flat.size, dtype=np.float64)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (ranks / max(flat.size - 1, 1) - 0.5).reshape(fitness.shape)


@dataclass
class Population:
    """One generation: ``n_pairs`` noise offsets and the weights of its ``2 * n_pairs`` members.

    :attr offsets: ``(n_pairs,)``; member ``2k`` is ``theta + sigma * eps_k``, member ``2k + 1`` is ``theta -
        sigma * eps_k``.
    :attr parameters: ``{network key: {parameter name: (2 * n_pairs, *shape)}}``.
    """

    offsets: np.ndarray
    parameters: Dict[str, TensorDict]

    @property
    def size(self) -> int:
        return 2 * len(self.offsets)


@dataclass
class PopulationBatch:
    """What playing a population gave: one episode's return and length per member, and the observations the
    members saw (for the observation normaliser's statistics; empty when there is none)."""

    offsets: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    observations: List[Tuple[TensorDict, torch.Tensor]]

    def observation_groups(self) -> List[Tuple[TensorDict, torch.Tensor]]:
        return self.observations


class ES:
    """OpenAI-style evolution strategies over the weights of the policy's networks.

    The training loop drives it like any other algorithm; its collector (the runner's
    :meth:`~maze_cli.runners.base.Runner.make_population_collector`) plays one episode per member, and
    :meth:`update` turns their returns into an Adam step on the weights.

    :param config: the hyper-parameters.
    :param policy: the policy whose networks' weights are searched (its distribution parameters, e.g. a
        Gaussian's log-std, are not: ES acts deterministically by default).
    :param critic: unused.
    :param max_nonfinite_updates: unused (ES has no loss that can go non-finite; returns are checked).
    """

    critic = None
    store_next_observations = False
    rollout_steps = 1

    def __init__(self, config: ESAlgorithmConfig, policy: TorchPolicy, critic: Any = None,
                 max_nonfinite_updates: int = 10):
        self.config, self.policy = config, policy
        gsde = sorted({head for mapper in policy.distribution_mappers.values() for head in mapper.feature_heads})
        if gsde:
            raise ConfigError(f"algorithm=es: action head(s) {gsde} explore with gSDE, which ES does not use (its members "
                              f"act with perturbed weights); map Box heads to the default "
                              f"DiagonalGaussianProbabilityDistribution in policy.distribution_mapper")
        self.named = [(key, name, p) for key, net in policy.networks.items() for name, p in net.named_parameters()]
        self.sizes = [p.numel() for _, _, p in self.named]
        self.n_weights = sum(self.sizes)
        if config.noise_table_size <= self.n_weights:
            raise ConfigError(f"algorithm.noise_table_size={config.noise_table_size}: the policy's networks have "
                              f"{self.n_weights:,} weights; expected a table larger than that (e.g. "
                              f"{4 * self.n_weights:,})")
        self.noise = NoiseTable(config.noise_table_size, config.noise_seed)
        self.rng = np.random.default_rng(int(torch.randint(2 ** 31 - 1, ())))
        self.optimizer = FusedAdam([p for _, _, p in self.named], lr=config.lr)
        self.generations = 0

    def models(self) -> Dict[str, nn.Module]:
        return {"policy": self.policy}

    @property
    def population_size(self) -> int:
        return self.config.population_size

    def _flat_weights(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for _, _, p in self.named])

    def population(self) -> Population:
        """The next generation: fresh noise offsets and the perturbed weights of each member."""
        return self.members(self.draw_offsets())

    def draw_offsets(self) -> np.ndarray:
        """The noise offsets of the next generation's ``n_pairs`` directions (what workers are sent)."""
        return self.rng.integers(0, len(self.noise) - self.n_weights + 1, self.config.n_pairs)

    @torch.no_grad()
    def members(self, offsets: np.ndarray) -> Population:
        """The members of the directions at ``offsets``, around the policy's current weights."""
        eps = self.noise.slices(offsets, self.n_weights)
        signs = torch.tensor([1.0, -1.0]).repeat(len(offsets))[:, None]
        members = self._flat_weights()[None] + self.config.sigma * signs * eps.repeat_interleave(2, dim=0)
        parameters: Dict[str, TensorDict] = {}
        for (key, name, p), chunk in zip(self.named, members.split(self.sizes, dim=1)):
            parameters.setdefault(key, {})[name] = chunk.reshape(len(members), *p.shape)
        return Population(offsets, parameters)

    def update(self, batch: PopulationBatch, epoch: int, progress: float) -> Dict[str, float]:
        """One Adam step along the rank-weighted sum of the generation's noise, with weight decay."""
        if not np.isfinite(batch.returns).all():
            raise ValueError(f"es: a member's episode return is not finite ({batch.returns.tolist()}); the env "
                             f"returned a NaN or infinite reward")
        ranks = centered_ranks(batch.returns.reshape(-1, 2))
        weights = torch.as_tensor(ranks[:, 0] - ranks[:, 1], dtype=torch.float32)
        eps = self.noise.slices(batch.offsets, self.n_weights)
        ascent = weights @ eps / batch.returns.size
        theta = self._flat_weights()
        gradient = -ascent + self.config.l2_coef * theta
        for (_, _, p), chunk in zip(self.named, gradient.split(self.sizes)):
            p.grad = chunk.reshape(p.shape).clone()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.generations += 1
        return {"es/population_return_mean": float(batch.returns.mean()),
                "es/population_return_max": float(batch.returns.max()),
                "es/ascent_norm": float(ascent.norm()), "es/weight_norm": float(theta.norm()),
                "es/generations": float(self.generations)}

    def state_dict(self) -> Dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "es_rng": self.rng.bit_generator.state,
                "es_generations": self.generations}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["es_rng"]
        self.generations = int(state["es_generations"])

