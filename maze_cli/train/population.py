"""The collector of algorithms that score whole episodes of perturbed policies (ES): one episode per member
of a population, all members stepping together on the runner's evaluation envs (worker processes for
``runner=local``), each acting with its own weights."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch.func import functional_call, vmap

from maze_cli.algorithms.es import Population, PopulationBatch
from maze_cli.envs.log_stats import EpisodeStats
from maze_cli.envs.maze_env import ActorID
from maze_cli.envs.vector import VectorEnv
from maze_cli.train.evaluator import EVALUATION_SEED_STRIDE, play_episodes

TensorDict = Dict[str, torch.Tensor]


class PopulationCollector:
    """Plays each generation the algorithm proposes (``algorithm.population()``) on ``vector_env``.

    Acting is batched: for the envs waiting for an actor, the actor's network runs once, vectorised over
    the members' weights (``torch.func.vmap`` of ``functional_call``), so the cost per step does not grow
    with a Python loop over members. Generation ``g`` resets the envs with ``seed + EVALUATION_SEED_STRIDE * g``.

    :param vector_env: ``algorithm.population_size`` envs.
    :param algorithm: an :class:`~maze_cli.algorithms.es.ES` (its policy, settings and populations).
    :param seed: seeds the envs' resets.
    """

    def __init__(self, vector_env: VectorEnv, algorithm: Any, seed: Optional[int]):
        if vector_env.num_envs != algorithm.population_size:
            raise ValueError(f"population collector: {vector_env.num_envs} envs for a population of "
                             f"{algorithm.population_size}")
        self.vector_env, self.algorithm, self.policy = vector_env, algorithm, algorithm.policy
        self.seed = seed
        self.env_steps = 0
        self._generation = 0
        self._episodes = EpisodeStats()

    @torch.no_grad()
    def collect(self, reset_seed: Optional[int] = None) -> PopulationBatch:
        """Plays the next population; ``reset_seed`` overrides the seed of this generation's resets (a worker
        playing a share of a generation is told the seed of its members' envs)."""
        population = self.algorithm.population()
        normalizer = self.policy.observation_normalizer
        seen: List[Tuple[TensorDict, torch.Tensor]] = []

        def act(actor: ActorID, observations: Dict[str, np.ndarray], rows: Optional[np.ndarray]
                ) -> Dict[str, np.ndarray]:
            obs = self.policy.converters[actor[0]](observations)
            if normalizer is not None:
                seen.append((obs, torch.ones(len(next(iter(obs.values()))), dtype=torch.bool)))
            dist = self.policy.distribution_from_logits(self._member_logits(population, actor, obs, rows), obs, actor)
            sample = dist.deterministic_sample() if self.algorithm.config.deterministic_actions else dist.sample()
            return dist.env_actions(sample)

        seed = None if self.seed is None else self.seed + EVALUATION_SEED_STRIDE * self._generation
        seed = seed if reset_seed is None else reset_seed
        self._generation += 1
        played = play_episodes(self.vector_env, act, np.ones(population.size, dtype=np.int64), seed)
        self.env_steps += int(played.env_lengths.sum())
        self._episodes = played.episodes
        return PopulationBatch(population.offsets, played.env_returns, played.env_lengths, seen)

    def _member_logits(self, population: Population, actor: ActorID, obs: TensorDict,
                       rows: Optional[np.ndarray]) -> TensorDict:
        """The network outputs of each env's member for its observation."""
        key = self.policy.network_key(actor)
        network = self.policy.networks[key]
        members = slice(None) if rows is None else torch.as_tensor(rows)
        weights = {name: value[members] for name, value in population.parameters[key].items()}
        if self.policy.observation_normalizer is not None:
            obs = self.policy.observation_normalizer(obs)

        def one(member_weights: TensorDict, member_obs: TensorDict) -> TensorDict:
            batched = {k: v.unsqueeze(0) for k, v in member_obs.items()}
            return {k: v.squeeze(0) for k, v in functional_call(network, member_weights, (batched,)).items()}

        try:
            return vmap(one)(weights, obs)
        except RuntimeError as err:  # e.g. in-place updates of buffers, or .item() inside forward
            raise RuntimeError(f"algorithm=es acts with all members' weights at once (torch.func.vmap), and the "
                               f"policy network {key!r} ({type(network).__name__}) cannot be vmapped: {err}") from err

    def pop_episode_stats(self) -> Dict[str, float]:
        """``train/...`` statistics of the last generation's episodes (perturbed weights)."""
        stats = self._episodes.reduce("train")
        self._episodes = EpisodeStats()
        return {**stats, "time/worker_restarts": float(getattr(self.vector_env, "restarts", 0))}

    def close(self) -> None:
        self.vector_env.close()
