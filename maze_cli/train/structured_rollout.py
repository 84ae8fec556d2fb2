"""Rollouts of structured envs: every env step is one decision of one actor (sub-step, agent).

The collector groups the envs by the actor they wait for and acts for each group in one batch
with that actor's network, so envs at different sub-steps step together. The batch keeps a
``(T, n_envs)`` grid of decisions with the actor of each cell; observations and actions are stored
per sub-step (their shapes differ). Returns are computed per actor with
:func:`~maze_cli.train.returns.compute_structured_gae`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from maze_cli.envs.log_stats import EpisodeTracker
from maze_cli.envs.maze_env import ActorID
from maze_cli.envs.structured_vector import Observation, StructuredStep, StructuredVectorEnv
from maze_cli.envs.vector import EnvError
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy, sample_batch
from maze_cli.models.stacking import FlatStepMemory
from maze_cli.train.returns import compute_structured_gae
from maze_cli.train.samples import TrainingSamples, normalize_advantages

TensorDict = Dict[str, torch.Tensor]


def actor_list(agent_counts_dict: Mapping[int, int]) -> List[ActorID]:
    """Every (sub-step, agent) of an env, in a fixed order (its position is the actor index)."""
    return [(int(step), agent) for step, count in sorted(agent_counts_dict.items()) for agent in range(int(count))]


@dataclass
class StructuredRolloutBatch:
    """``n_steps`` decisions of each of ``n_envs`` structured envs; tensors are ``(T, n_envs, ...)``.

    Every cell is a real decision (envs reset in the step that ended their episode), made by actor
    ``actor_ids[actors[t, i]]``. ``observations[step]`` and ``actions[step]`` hold sub-step ``step``'s
    data and are meaningful only in the cells of its actors.
    """

    actor_ids: List[ActorID]
    actors: torch.Tensor
    observations: Dict[int, TensorDict]
    actions: Dict[int, TensorDict]
    critic_observations: Optional[TensorDict]  # stacked critic inputs, when the critic stacks sub-steps
    log_probs: torch.Tensor
    values: torch.Tensor  # V of every decision's observation
    last_values: torch.Tensor  # (n_envs,): V of each env's observation after the last step
    rewards: torch.Tensor
    episode_end: torch.Tensor
    end_values: torch.Tensor  # where an episode ended: 0 if terminated, V(final observation) if truncated
    flat_step_done: torch.Tensor

    @staticmethod
    def concat_envs(batches: List["StructuredRolloutBatch"]) -> "StructuredRolloutBatch":
        """Joins batches of different env groups (e.g. remote workers) along the env axis."""
        def cat(items: List[Any], dim: int) -> Any:
            if items[0] is None:
                return None
            if isinstance(items[0], dict):
                return {key: cat([item[key] for item in items], dim) for key in items[0]}
            return torch.cat(items, dim=dim)
        joined = {f.name: cat([getattr(b, f.name) for b in batches], 0 if f.name == "last_values" else 1)
                  for f in fields(StructuredRolloutBatch) if f.name != "actor_ids"}
        return StructuredRolloutBatch(actor_ids=batches[0].actor_ids, **joined)

    @property
    def n_transitions(self) -> int:
        return int(self.actors.numel())

    @property
    def env_steps(self) -> int:
        """Flat steps the rollout completed (a flat step is several decisions)."""
        return int(self.flat_step_done.sum())

    def observation_groups(self) -> List[Tuple[TensorDict, torch.Tensor]]:
        """``(observations, mask of the cells they are valid in)`` per sub-step, for normalisation statistics."""
        groups = []
        for step, observations in self.observations.items():
            indices = torch.tensor([i for i, actor in enumerate(self.actor_ids) if actor[0] == step])
            groups.append((observations, torch.isin(self.actors, indices)))
        return groups

    def training_samples(self, gamma: float, gae_lambda: float, normalize: bool = True) -> List[TrainingSamples]:
        """Per-actor GAE, then one :class:`TrainingSamples` per actor that decided in this rollout.

        Advantages are normalised per actor, as each actor's are estimates of a different return.
        """
        advantages, returns = compute_structured_gae(
            self.actors, self.rewards, self.values, self.last_values, self.episode_end, self.end_values,
            len(self.actor_ids), gamma, gae_lambda)
        samples = []
        for index, actor_id in enumerate(self.actor_ids):
            mask = self.actors == index
            if not bool(mask.any()):
                continue
            step = actor_id[0]
            samples.append(TrainingSamples(
                actor_id=actor_id,
                observations={key: value[mask] for key, value in self.observations[step].items()},
                actions={key: value[mask] for key, value in self.actions[step].items()},
                old_log_probs=self.log_probs[mask], old_values=self.values[mask],
                advantages=normalize_advantages(advantages[mask]) if normalize else advantages[mask], returns=returns[mask],
                critic_observations=None if self.critic_observations is None
                else {key: value[mask] for key, value in self.critic_observations.items()}))
        return samples


class StructuredRolloutCollector:
    """Runs the policy on a structured vector env, acting for all envs of one actor in one batch.

    :param vector_env: a structured vector env (see :mod:`maze_cli.envs.structured_vector`).
    :param policy: the policy to act with (its weights are read at every step).
    :param critic: the critic whose values the rollout records for advantage estimation.
    :param n_steps: decisions (env steps, i.e. sub-steps) per env per :meth:`collect`.
    :param agent_counts_dict: the env's ``{sub-step: number of agents}``.
    :param seed: seeds the envs' first reset.
    """

    def __init__(self, vector_env: StructuredVectorEnv, policy: TorchPolicy, critic: TorchStateCritic,
                 n_steps: int, agent_counts_dict: Mapping[int, int], seed: Optional[int] = None):
        self.vector_env = vector_env
        self.policy = policy
        self.critic = critic
        self.n_steps = n_steps
        self.n_envs = vector_env.num_envs
        self.actor_ids = actor_list(agent_counts_dict)
        self._actor_index = {actor: index for index, actor in enumerate(self.actor_ids)}
        self.memory = FlatStepMemory(critic.stacking, self.n_envs) if critic.stacking is not None else None
        self.episodes = EpisodeTracker(self.n_envs)
        self.env_steps = 0
        self._storage = self._allocate()
        self._obs, self._actors = vector_env.reset(seed=seed)

    def _allocate(self) -> StructuredRolloutBatch:
        """Storage for one rollout; observation and action shapes come from one sample decision per sub-step."""
        T, n = self.n_steps, self.n_envs
        observations, actions = {}, {}
        with torch.inference_mode():
            for step in sorted({step for step, _ in self.actor_ids}):
                obs = sample_batch(self.policy.converters[step].space, self.policy.converters[step], n=1)
                sampled = self.policy.distribution(obs, (step, 0)).sample()
                observations[step] = {k: torch.zeros((T, n) + tuple(v.shape[1:]), dtype=v.dtype) for k, v in obs.items()}
                actions[step] = {k: torch.zeros((T, n) + tuple(v.shape[1:]), dtype=v.dtype) for k, v in sampled.items()}
        critic_obs = None
        if self.memory is not None:
            critic_obs = {k: torch.zeros((T, n) + shape) for k, shape in self.critic.stacking.shapes.items()}
        return StructuredRolloutBatch(
            actor_ids=list(self.actor_ids), actors=torch.zeros(T, n, dtype=torch.long), observations=observations,
            actions=actions, critic_observations=critic_obs, log_probs=torch.zeros(T, n), values=torch.zeros(T, n),
            last_values=torch.zeros(n), rewards=torch.zeros(T, n), episode_end=torch.zeros(T, n, dtype=torch.bool),
            end_values=torch.zeros(T, n), flat_step_done=torch.zeros(T, n, dtype=torch.bool))

    def _groups(self, actors: Sequence[ActorID], envs: Sequence[int]) -> List[Tuple[int, ActorID, torch.Tensor]]:
        """``(actor index, actor id, env indices)`` for each actor that ``envs`` (waiting for ``actors``) wait for."""
        by_actor: Dict[ActorID, List[int]] = {}
        for env, actor in zip(envs, actors):
            by_actor.setdefault(actor, []).append(env)
        groups = []
        for actor, members in by_actor.items():
            if actor not in self._actor_index:
                raise EnvError(f"env {members[0]} asks for actor (sub-step, agent) = {actor}, which its "
                               f"agent_counts_dict does not have (actors: {self.actor_ids})")
            groups.append((self._actor_index[actor], actor, torch.as_tensor(members, dtype=torch.long)))
        return groups

    def _convert(self, step: int, observations: List[Observation], envs: torch.Tensor) -> TensorDict:
        converter = self.policy.converters[step]
        return converter({key: np.stack([observations[i][key] for i in envs.tolist()]) for key in converter.shapes})

    def _critic_input(self, step: int, envs: torch.Tensor, obs: TensorDict) -> TensorDict:
        """What the critic reads for these envs' decisions (their observations, or the stacked flat step)."""
        if self.memory is None:
            return obs
        self.memory.record(step, envs, obs)
        return self.memory.critic_input(step, envs)

    def _values(self, observations: List[Observation], actors: Sequence[ActorID], envs: Sequence[int]) -> torch.Tensor:
        """Values of ``observations[i]`` for i in ``envs`` under their actors' critics, in the order of ``envs``."""
        values = torch.zeros(self.n_envs)
        for _, (step, _), members in self._groups(actors, envs):
            obs = self._convert(step, observations, members)
            values[members] = self.critic.predict_value(self._critic_input(step, members, obs), step)
        return values[torch.as_tensor(list(envs), dtype=torch.long)]

    @torch.inference_mode()
    def collect(self) -> StructuredRolloutBatch:
        """The next ``n_steps`` decisions of every env; buffers are reused, so consume before the next call."""
        store = self._storage
        all_envs = list(range(self.n_envs))
        for t in range(self.n_steps):
            env_actions: List[Dict[str, np.ndarray]] = [{} for _ in all_envs]
            for index, actor, envs in self._groups(self._actors, all_envs):
                step = actor[0]
                obs = self._convert(step, self._obs, envs)
                dist = self.policy.distribution(obs, actor)
                actions = dist.sample()
                store.actors[t, envs] = index
                store.log_probs[t, envs] = dist.log_prob(actions)
                critic_obs = self._critic_input(step, envs, obs)
                store.values[t, envs] = self.critic.predict_value(critic_obs, step)
                if store.critic_observations is not None:
                    for key, value in critic_obs.items():
                        store.critic_observations[key][t, envs] = value
                for key, value in obs.items():
                    store.observations[step][key][t, envs] = value
                members = envs.tolist()
                for key, value in actions.items():
                    store.actions[step][key][t, envs] = value
                for key, as_numpy in dist.env_actions(actions).items():  # e.g. squashed into Box bounds
                    for row, env in enumerate(members):
                        env_actions[env][key] = as_numpy[row]
            self._record_step(t, self.vector_env.step(env_actions))
        store.last_values.copy_(self._values(self._obs, self._actors, all_envs))
        return store

    def _record_step(self, t: int, result: StructuredStep) -> None:
        store = self._storage
        ended = result.terminated | result.truncated
        store.rewards[t] = torch.from_numpy(result.rewards.astype(np.float32))
        store.episode_end[t] = torch.from_numpy(ended)
        store.flat_step_done[t] = torch.from_numpy(result.flat_step_done)
        if self.memory is not None:
            self.memory.forget(np.flatnonzero(result.flat_step_done))
        store.end_values[t] = 0.0
        truncated = [env for env in result.final if not result.terminated[env]]
        if truncated:
            final_obs = {env: result.final[env][0] for env in truncated}
            observations = [final_obs.get(env, {}) for env in range(self.n_envs)]
            store.end_values[t, truncated] = self._values(observations, [result.final[env][1] for env in truncated],
                                                          truncated)
        if self.memory is not None:
            self.memory.forget(np.flatnonzero(ended))
        # episode statistics count flat steps; every sub-step's reward adds to the episode's return
        self.episodes.record(result.rewards, result.flat_step_done, ended)
        self.env_steps += int(result.flat_step_done.sum())
        self._obs, self._actors = result.observations, result.actor_ids

    def pop_episode_stats(self) -> Dict[str, float]:
        return self.episodes.pop("train")

    def close(self) -> None:
        self.vector_env.close()
