"""Rollout collection: one collector for every env, acting batched per actor into preallocated storage.

An ordinary env is the single-actor case of a structured env: the same collector, batch and
bookkeeping serve both, and the single actor takes the fast path (no per-actor indexing).
Episode ends are handled for both autoreset modes of the vector envs (see :class:`VectorStep`):
a truncated episode bootstraps from the value of its final observation, returned in ``final``
(same-step autoreset) or as the step's observation (NEXT_STEP autoreset, valued at the next step).
End values that come from the storage's values are filled in after the rollout, so an ordinary env's critic can
value the whole rollout in one batched forward instead of one forward per step; its policy scores the rollout's
actions the same way.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Union

import numpy as np
import torch

from maze_cli.envs.log_stats import EpisodeTracker
from maze_cli.envs.vector import VectorEnv, VectorStep
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy, sample_batch
from maze_cli.models.stacking import FlatStepMemory
from maze_cli.train.acting import EnvActions, EnvRows, actor_groups, group_observations
from maze_cli.train.batch import RolloutBatch, TensorDict

Index = Union[int, tuple]


def _cells(t: int, rows: EnvRows) -> Index:
    """Index of row ``t``'s cells of ``rows`` (all envs when ``None``)."""
    return t if rows is None else (t, torch.from_numpy(rows))


def _rows(tensors: TensorDict) -> TensorDict:
    """``(n_steps, n_envs, ...)`` storage as ``(n_steps * n_envs, ...)`` rows, for one forward over the rollout."""
    return {key: value.flatten(0, 1) for key, value in tensors.items()}


class RolloutCollector:
    """Runs the policy on a vector env without autograd, batched per actor.

    :param vector_env: a vector env of :mod:`maze_cli.envs.vector` (ordinary or structured envs).
    :param policy: the policy to act with (its weights are read at every step).
    :param critic: the critic whose values the rollout records for advantage estimation;
        ``None`` records no values (algorithms that learn from replay).
    :param n_steps: decisions (env steps; for structured envs sub-steps) per env per :meth:`collect`.
    :param seed: seeds the envs' first reset (env ``i`` gets ``seed + i``).
    :param store_next_observations: also record what every step returned (off-policy algorithms).
    """

    def __init__(self, vector_env: VectorEnv, policy: TorchPolicy, critic: Optional[TorchStateCritic],
                 n_steps: int, seed: Optional[int] = None, store_next_observations: bool = False):
        self.vector_env = vector_env
        self.policy = policy
        self.critic = critic
        self.n_steps = n_steps
        self.n_envs = vector_env.num_envs
        self.actor_ids = list(vector_env.actor_ids)
        self.device = next(policy.parameters()).device
        stacking = critic.stacking if critic is not None else None
        self.memory = FlatStepMemory(stacking, self.n_envs) if stacking is not None else None
        self.episodes = EpisodeTracker(self.n_envs)
        self.env_steps = 0
        self._flags = {name: np.zeros((n_steps, self.n_envs), dtype=dtype) for name, dtype in (
            ("actors", np.int64), ("valid", bool), ("rewards", np.float32), ("terminated", bool),
            ("episode_end", bool), ("flat_step_done", bool), ("end_values", np.float32))}
        self._on_cpu = self.device.type == "cpu"
        self._storage = self._allocate(store_next_observations)
        store = self._storage
        self._views = {"log_probs": store.log_probs.numpy(), "values": store.values.numpy(),
                       "observations": {s: {k: v.numpy() for k, v in d.items()} for s, d in store.observations.items()},
                       "actions": {s: {k: v.numpy() for k, v in d.items()} for s, d in store.actions.items()}}
        self._single_actor = len(self.actor_ids) == 1
        # one critic forward for the whole rollout (per-step forwards were a fifth of acting at 16 envs) where it reads
        # the recorded observations of the only actor; stacked critic inputs depend on the step order
        self._value_after_rollout = critic is not None and self.memory is None and self._single_actor
        # the same for the only actor's log-probs (the policy does not change within a rollout); a one-step rollout
        # (SAC's) keeps the acting distribution's, which costs no second forward
        self._log_prob_after_rollout = self._single_actor and n_steps > 1
        # which end values are the value of the next row's observation / of the row's own (filled after the rollout)
        self._end_is_next_value = np.zeros((n_steps, self.n_envs), dtype=bool)
        self._end_is_own_value = np.zeros((n_steps, self.n_envs), dtype=bool)
        self._all_envs = ((0, None),)
        self._actions = EnvActions(self.n_envs)
        self._step: VectorStep = vector_env.reset(seed=seed)

    def _allocate(self, store_next_observations: bool) -> RolloutBatch:
        """Storage for one rollout; observation and action shapes come from one sample decision per sub-step."""
        T, n = self.n_steps, self.n_envs

        def like(example: TensorDict) -> TensorDict:
            return {k: torch.zeros((T, n) + tuple(v.shape[1:]), dtype=v.dtype) for k, v in example.items()}
        observations, actions = {}, {}
        with torch.inference_mode():
            for step in sorted({step for step, _ in self.actor_ids}):
                obs = sample_batch(self.policy.converters[step].space, self.policy.converters[step], n=1)
                observations[step] = like(obs)
                actions[step] = like(self.policy.distribution(self._on_device(obs), (step, 0)).sample())
        critic_obs = None
        if self.memory is not None:
            critic_obs = {k: torch.zeros((T, n) + shape) for k, shape in self.memory.stacker.shapes.items()}
        return RolloutBatch(
            actor_ids=list(self.actor_ids), observations=observations, actions=actions,
            critic_observations=critic_obs, log_probs=torch.zeros(T, n), values=torch.zeros(T, n),
            last_values=torch.zeros(n),
            next_observations={step: {k: torch.zeros_like(v) for k, v in obs.items()}
                               for step, obs in observations.items()}
            if store_next_observations else None,
            **{name: torch.from_numpy(array) for name, array in self._flags.items()})

    def _converted(self, sub_step: int, raw: Dict[str, np.ndarray]) -> TensorDict:
        return self.policy.converters[sub_step](raw)

    def _on_device(self, obs: TensorDict) -> TensorDict:
        if self._on_cpu:
            return obs
        return {key: value.to(self.device, non_blocking=True) for key, value in obs.items()}

    def _critic_input(self, sub_step: int, rows: EnvRows, obs: TensorDict) -> TensorDict:
        """What the critic reads for a group's decisions: their observations, or the stacked flat step."""
        if self.memory is None:
            return obs
        envs = torch.from_numpy(rows) if rows is not None else torch.arange(self.n_envs)
        self.memory.record(sub_step, envs, obs)
        return self.memory.critic_input(sub_step, envs)

    def _group_values(self, sub_step: int, critic_obs: TensorDict) -> torch.Tensor:
        """Values under the sub-step's critic; zeros without a critic."""
        if self.critic is None:
            return torch.zeros(next(iter(critic_obs.values())).shape[0])
        values = self.critic.predict_value(self._on_device(critic_obs), sub_step)
        return values if self._on_cpu else values.cpu()

    def _act(self, t: int) -> None:
        """Acts for every env at row ``t``, recording observations, actions, log-probs and values.

        Rows are written through numpy views of the storage: a numpy row write costs a fraction of
        a torch indexing call, which matters at tens of thousands of steps per second.
        """
        store, step, views = self._storage, self._step, self._views
        groups = self._all_envs if self._single_actor else actor_groups(step.actors, len(self.actor_ids))
        if not self._single_actor:
            self._flags["actors"][t] = step.actors
        for actor_index, rows in groups:
            actor = self.actor_ids[actor_index]
            sub_step = actor[0]
            cells = t if rows is None else (t, rows)
            obs = self.policy.converters[sub_step](group_observations(step, sub_step, rows))
            dist = self.policy.distribution(self._on_device(obs), actor)
            actions = dist.sample(self.policy.exploration_noise)
            if not self._log_prob_after_rollout:
                views["log_probs"][cells] = self._numpy(dist.log_prob(actions))
            if not self._value_after_rollout:
                critic_obs = self._critic_input(sub_step, rows, obs)
                views["values"][cells] = self._numpy(self._group_values(sub_step, critic_obs))
                if store.critic_observations is not None:
                    for key, value in critic_obs.items():
                        store.critic_observations[key][_cells(t, rows)] = value
            for key, value in obs.items():
                views["observations"][sub_step][key][cells] = value.numpy()
            for key, value in actions.items():
                views["actions"][sub_step][key][cells] = self._numpy(value)
            self._actions.put(sub_step, rows, dist.env_actions(actions))

    def _numpy(self, tensor: torch.Tensor) -> np.ndarray:
        return tensor.numpy() if self._on_cpu else tensor.cpu().numpy()

    def _current_values(self) -> torch.Tensor:
        """Values of every env's current observation, under the critic of the actor it waits for."""
        values = torch.zeros(self.n_envs)
        step = self._step
        for actor_index, rows in actor_groups(step.actors, len(self.actor_ids)):
            sub_step = self.actor_ids[actor_index][0]
            obs = self._converted(sub_step, group_observations(step, sub_step, rows))
            values[slice(None) if rows is None else torch.from_numpy(rows)] = self._group_values(
                sub_step, self._critic_input(sub_step, rows, obs))
        return values

    def _final_values(self, result: VectorStep, envs: List[int]) -> torch.Tensor:
        """Values of the final observations of ``envs`` (episodes reset within the step), in that order."""
        values = torch.zeros(len(envs))
        actors = np.array([result.final[env][1] for env in envs])
        for actor_index in np.unique(actors):
            members = np.flatnonzero(actors == actor_index)
            sub_step = self.actor_ids[int(actor_index)][0]
            raw = {key: np.stack([result.final[envs[m]][0][key] for m in members])
                   for key in self.policy.converters[sub_step].shapes}
            env_rows = np.array([envs[m] for m in members])
            critic_obs = self._critic_input(sub_step, env_rows, self._converted(sub_step, raw))
            values[torch.from_numpy(members)] = self._group_values(sub_step, critic_obs)
        return values

    def _record_step(self, t: int, result: VectorStep) -> np.ndarray:
        """Books the outcome of row ``t``'s step; returns the envs whose end value is their next observation's."""
        flags = self._flags
        valid = result.valid if result.restarted is None else result.valid & ~result.restarted
        ended = (result.terminated | result.truncated) & valid
        flags["valid"][t] = valid
        np.multiply(result.rewards, valid, out=flags["rewards"][t])
        np.logical_and(result.terminated, valid, out=flags["terminated"][t])
        flags["episode_end"][t] = ended
        flags["flat_step_done"][t] = result.flat_step_done
        if self.memory is not None:
            self.memory.forget(np.flatnonzero(result.flat_step_done))
        awaiting = self._end_values(t, result, ended) if ended.any() else ended
        if self._storage.next_observations is not None:
            self._record_next_observations(t, result)
        if self.memory is not None:
            self.memory.forget(np.flatnonzero(ended))
        # episode statistics count flat steps; every sub-step's reward adds to the episode's return
        self.episodes.record(flags["rewards"][t], valid & result.flat_step_done, ended, result.episode_kpis)
        if result.restarted is not None:
            self._cut_short(t, result.restarted)
        self._step = result
        return awaiting

    def _cut_short(self, t: int, envs: np.ndarray) -> None:
        """Episodes whose worker failed in row ``t``'s step end there without a transition: the decision
        before bootstraps from the value of the observation the failed step was acting on, and their
        statistics are dropped (they did not finish)."""
        self._flags["episode_end"][t, envs] = True
        self._end_is_own_value[t, envs] = True
        self.episodes.drop(envs)
        if self.memory is not None:
            self.memory.forget(np.flatnonzero(envs))

    def _end_values(self, t: int, result: VectorStep, ended: np.ndarray) -> np.ndarray:
        """Values the final observations of episodes truncated at row ``t`` where they are known; returns the
        envs whose final observation is their current one (NEXT_STEP autoreset), valued at the next step."""
        truncated = ended & ~result.terminated
        if not result.final:
            return truncated
        in_final = np.zeros(self.n_envs, dtype=bool)
        in_final[list(result.final)] = True
        reset_within = [int(env) for env in np.flatnonzero(truncated & in_final)]
        if reset_within:
            self._flags["end_values"][t, reset_within] = self._final_values(result, reset_within).numpy()
        return truncated & ~in_final

    def _record_next_observations(self, t: int, result: VectorStep) -> None:
        """What row ``t``'s step returned for every env: its next observation, or its final one."""
        sub_step = self.actor_ids[0][0]
        obs = self._converted(sub_step, result.observations[sub_step])
        storage = self._storage.next_observations[sub_step]
        for key, value in obs.items():
            storage[key][t] = value
        for env, (final_obs, _) in result.final.items():
            final = self._converted(sub_step, {key: np.asarray(final_obs[key])[None] for key in obs})
            for key, value in final.items():
                storage[key][t, env] = value[0]

    @torch.inference_mode()
    def collect(self) -> RolloutBatch:
        """The next ``n_steps`` decisions of every env; buffers are reused, so consume before the next call."""
        store = self._storage
        self._end_is_own_value[:] = False
        self._flags["end_values"][:] = 0.0
        for t in range(self.n_steps):
            self._act(t)
            # truncated in this step, the final observation is the next row's: its value is the end value
            self._end_is_next_value[t] = self._record_step(t, self.vector_env.step(self._actions.arrays))
        if self._value_after_rollout:
            store.values.copy_(self._rollout_values())
        if self._log_prob_after_rollout:
            store.log_probs.copy_(self._rollout_log_probs())
        store.last_values.copy_(self._current_values())
        self._fill_end_values()
        self.env_steps += store.env_steps
        return store

    def _rollout_values(self) -> torch.Tensor:
        """Values of every recorded observation of the only actor, in one forward: ``(n_steps, n_envs)``."""
        sub_step = self.actor_ids[0][0]
        values = self._group_values(sub_step, _rows(self._storage.observations[sub_step]))
        return values.reshape(self.n_steps, self.n_envs)

    def _rollout_log_probs(self) -> torch.Tensor:
        """Log-probs of every recorded action of the only actor under the policy that chose them, in one forward."""
        sub_step = self.actor_ids[0][0]
        dist = self.policy.distribution(self._on_device(_rows(self._storage.observations[sub_step])), self.actor_ids[0])
        log_probs = dist.log_prob(self._on_device(_rows(self._storage.actions[sub_step])))
        return (log_probs if self._on_cpu else log_probs.cpu()).reshape(self.n_steps, self.n_envs)

    def _fill_end_values(self) -> None:
        """End values that are the value of the next row's observation (NEXT_STEP autoreset truncations; the
        last row's from ``last_values``) or of the row's own (episodes cut short by a failed worker)."""
        ends, values, following = self._flags["end_values"], self._views["values"], self._end_is_next_value
        ends[:-1][following[:-1]] = values[1:][following[:-1]]
        ends[-1][following[-1]] = self._storage.last_values.numpy()[following[-1]]
        ends[self._end_is_own_value] = values[self._end_is_own_value]

    def pop_episode_stats(self) -> Dict[str, float]:
        """``train/...`` statistics of the episodes finished since the last call, and the worker restarts so far."""
        return {**self.episodes.pop("train"), "time/worker_restarts": float(getattr(self.vector_env, "restarts", 0))}

    def close(self) -> None:
        self.vector_env.close()
