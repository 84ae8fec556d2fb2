"""Vector envs: every env kind (ordinary or structured) behind one interface, :class:`VectorEnv`.

A step returns observations per sub-step (one array per key with a row per env; a row is meaningful
where that env waits for an actor of the sub-step) and the actor each env waits for. In-process and
worker-process vector envs reset an env within the step that ended its episode (same-step autoreset)
and return the final observation in ``final``; gymnasium's own vectorised envs (CartPole) keep their
NEXT_STEP autoreset, flagged through ``valid``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

import gymnasium as gym
import numpy as np

from maze_cli.envs.kpis import EPISODE_KPIS
from maze_cli.envs.errors import EnvError, EnvWorkerDied
from maze_cli.envs.gym_maze_env import ACTION_KEY, OBS_KEY
from maze_cli.envs.maze_env import ActorID, MazeEnv

EnvFactory = Callable[[], MazeEnv]
Observation = Dict[str, np.ndarray]


def actor_list(agent_counts_dict: Mapping[int, int]) -> List[ActorID]:
    """Every (sub-step, agent) of an env, in a fixed order (its position is the actor index)."""
    return [(int(step), agent) for step, count in sorted(agent_counts_dict.items()) for agent in range(int(count))]


@dataclass
class VectorStep:
    """What a reset or one step of all envs returned; arrays may be reused by the next call.

    :param observations: per sub-step ``{key: (n_envs, ...)}``; row ``i`` is meaningful where env ``i``
        waits for an actor of that sub-step.
    :param actors: ``(n_envs,)`` index into ``actor_ids`` of the actor each env waits for.
    :param rewards: ``(n_envs,)`` rewards of this step.
    :param terminated: the episode reached a terminal state in this step.
    :param truncated: the episode was cut off (e.g. a time limit) in this step.
    :param flat_step_done: this step completed a flat step (``info["flat_step_done"]``, default true).
    :param valid: false only on the reset steps of NEXT_STEP autoreset (the step carried no transition).
    :param final: ``{env: (final observation, its actor index)}`` for envs whose episode ended and that
        were reset within this step; an env that ended without an entry returned its final observation
        in ``observations`` and resets in the next step (NEXT_STEP autoreset).
    :param restarted: envs whose worker failed during this step and was replaced (``None``: none); their
        rows hold the first observation of a fresh episode, and the step carried no transition for them.
    :param episode_kpis: ``{env: {kpi: value}}`` for envs whose episode ended in this step and whose env
        reported KPIs (see :mod:`maze_cli.envs.kpis`).
    """

    observations: Dict[int, Observation]
    actors: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    flat_step_done: np.ndarray
    valid: np.ndarray
    final: Dict[int, Tuple[Observation, int]] = field(default_factory=dict)
    restarted: Optional[np.ndarray] = None
    episode_kpis: Dict[int, Dict[str, float]] = field(default_factory=dict)


class VectorEnv(Protocol):
    """The interface of every vector env: ordinary and structured envs, in-process or in workers."""

    num_envs: int
    actor_ids: List[ActorID]
    observation_spaces_dict: Dict[int, gym.spaces.Dict]
    action_spaces_dict: Dict[int, gym.spaces.Dict]

    def reset(self, seed: Optional[int] = None) -> VectorStep:
        """Resets every env (env ``i`` with ``seed + i``)."""

    def step(self, actions: Dict[int, Observation], active: Optional[np.ndarray] = None) -> VectorStep:
        """Env ``i`` takes row ``i`` of the actions of its current actor's sub-step.

        :param active: ``(n_envs,)`` the envs to step (default: all). The others keep their state and
            observation, get no reward and are flagged ``valid`` false; implementations that can only step
            all envs together (gymnasium's own vector envs) step them anyway.
        """

    def close(self) -> None:
        """Release envs and workers."""


class ErrorContextWrapper(gym.Wrapper):
    """Re-raises an env's exception as :class:`EnvError` naming the worker, the env and the step.

    It runs inside the worker, so the context survives the trip back to the main process.
    """

    def __init__(self, env: gym.Env, worker_index: int, env_index: Optional[int] = None):
        super().__init__(env)
        self.worker_index = worker_index
        self.env_index = env_index
        self.steps = 0

    def _fail(self, where: str, err: Exception) -> EnvError:
        env = f"env {self.env_index}: {self.env!r}" if self.env_index is not None else repr(self.env)
        return EnvError(f"env worker {self.worker_index} ({env}) raised in {where} at step "
                        f"{self.steps}: {type(err).__name__}: {err}")

    def reset(self, **kwargs: Any):
        try:
            return self.env.reset(**kwargs)
        except Exception as err:
            raise self._fail("reset", err) from err

    def step(self, action: Any):
        self.steps += 1
        try:
            return self.env.step(action)
        except Exception as err:
            raise self._fail("step", err) from err


def _zeros(space: gym.spaces.Dict, n: int) -> Observation:
    """Row buffers; spaces without a fixed shape (Text, Graph, ...) get object rows (no default network reads them)."""
    return {key: np.zeros((n,) + tuple(sub.shape), dtype=sub.dtype) if sub.shape is not None
            else np.empty(n, dtype=object) for key, sub in space.spaces.items()}


class SequentialVectorEnv:
    """Envs stepped one after the other in this process, reset within the step that ends an episode.

    :param envs: the envs (MazeEnvs, possibly wrapped).
    """

    def __init__(self, envs: Sequence[gym.Env]):
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        first = self.envs[0]
        self.observation_spaces_dict = dict(first.get_wrapper_attr("observation_spaces_dict"))
        self.action_spaces_dict = dict(first.get_wrapper_attr("action_spaces_dict"))
        self.actor_ids = actor_list(first.get_wrapper_attr("agent_counts_dict"))
        self._actor_index = {actor: index for index, actor in enumerate(self.actor_ids)}
        n = self.num_envs
        self._obs = {step: _zeros(space, n) for step, space in self.observation_spaces_dict.items()}
        self._actors = np.zeros(n, dtype=np.int64)

    @staticmethod
    def of_env(env: gym.Env) -> "SequentialVectorEnv":
        """A vector env of one given env instance."""
        return SequentialVectorEnv([env])

    def _actor_of(self, index: int) -> int:
        actor = tuple(int(x) for x in self.envs[index].get_wrapper_attr("actor_id")())
        if actor not in self._actor_index:
            raise EnvError(f"env {index} asks for actor (sub-step, agent) = {actor}, which its agent_counts_dict "
                           f"does not have (actors: {self.actor_ids})")
        return self._actor_index[actor]

    def _store(self, index: int, obs: Observation) -> None:
        self._actors[index] = actor = self._actor_of(index)
        rows = self._obs[self.actor_ids[actor][0]]
        for key, array in rows.items():
            array[index] = obs[key]

    def reset(self, seed: Optional[int] = None) -> VectorStep:
        for index, env in enumerate(self.envs):
            obs, _ = env.reset(seed=None if seed is None else seed + index)
            self._store(index, obs)
        n = self.num_envs
        no = np.zeros(n, dtype=bool)
        return VectorStep(self._obs, self._actors, np.zeros(n, dtype=np.float32), no, no.copy(),
                          np.ones(n, dtype=bool), np.ones(n, dtype=bool))

    def step(self, actions: Dict[int, Observation], active: Optional[np.ndarray] = None) -> VectorStep:
        n = self.num_envs
        rewards = np.zeros(n, dtype=np.float32)
        terminated, truncated, flat_done = (np.zeros(n, dtype=bool) for _ in range(3))
        final: Dict[int, Tuple[Observation, int]] = {}
        kpis: Dict[int, Dict[str, float]] = {}
        for index, env in enumerate(self.envs):
            if active is not None and not active[index]:
                continue
            sub_step = self.actor_ids[self._actors[index]][0]
            action = {key: value[index] for key, value in actions[sub_step].items()}
            obs, rewards[index], terminated[index], truncated[index], info = env.step(action)
            flat_done[index] = bool(info.get("flat_step_done", True))
            if terminated[index] or truncated[index]:
                final[index] = (obs, self._actor_of(index))
                if EPISODE_KPIS in info:
                    kpis[index] = info[EPISODE_KPIS]
                obs, _ = env.reset()
            self._store(index, obs)
        valid = np.ones(n, dtype=bool) if active is None else np.array(active, dtype=bool)
        return VectorStep(self._obs, self._actors, rewards, terminated, truncated, flat_done, valid, final,
                          episode_kpis=kpis)

    def close(self) -> None:
        for env in self.envs:
            env.close()


class NativeVectorEnv:
    """gymnasium's own vectorised implementation of a single-actor env (CartPole): several times faster.

    It keeps gymnasium's NEXT_STEP autoreset: the step after an episode ended resets that env,
    ignores its action and is flagged ``valid`` false.

    :param env: a plain-space gymnasium vector env with NEXT_STEP autoreset.
    """

    actor_ids: List[ActorID] = [(0, 0)]

    def __init__(self, env: gym.vector.VectorEnv):
        self.env = env
        self.num_envs = env.num_envs
        self.observation_spaces_dict = {0: gym.spaces.Dict({OBS_KEY: env.single_observation_space})}
        self.action_spaces_dict = {0: gym.spaces.Dict({ACTION_KEY: env.single_action_space})}
        self._ended = np.zeros(self.num_envs, dtype=bool)
        self._actors = np.zeros(self.num_envs, dtype=np.int64)
        self._flat_step_done = np.ones(self.num_envs, dtype=bool)

    def _result(self, obs, rewards, terminated, truncated) -> VectorStep:
        valid = ~self._ended
        self._ended = (terminated | truncated) & valid
        return VectorStep({0: {OBS_KEY: obs}}, self._actors, rewards, terminated, truncated, self._flat_step_done,
                          valid)

    def reset(self, seed: Optional[int] = None) -> VectorStep:
        obs, _ = self.env.reset(seed=seed)
        self._ended[:] = False
        no = np.zeros(self.num_envs, dtype=bool)
        return self._result(obs, np.zeros(self.num_envs), no, no.copy())

    def step(self, actions: Dict[int, Observation], active: Optional[np.ndarray] = None) -> VectorStep:
        obs, rewards, terminated, truncated, _ = self.env.step(actions[0][ACTION_KEY])  # all envs (cheap ones)
        return self._result(obs, rewards, terminated, truncated)

    def close(self) -> None:
        self.env.close()


__all__: List[str] = ["EnvError", "EnvWorkerDied", "VectorStep", "VectorEnv", "SequentialVectorEnv",
                      "NativeVectorEnv", "ErrorContextWrapper", "EnvFactory", "actor_list"]
