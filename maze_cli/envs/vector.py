"""Vector envs over MazeEnv factories: sequential (in-process) or worker processes.

All vector envs here use gymnasium's default NEXT_STEP autoreset: the step after an
episode ends is a reset step. The rollout collector masks those steps out of training,
and because the step that ended the episode returned the *final* observation, the value
of that observation bootstraps a truncated episode without extra bookkeeping.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import gymnasium as gym
import numpy as np

from maze_cli.envs.errors import EnvError, EnvWorkerDied
from maze_cli.envs.gym_maze_env import ACTION_KEY, OBS_KEY, GymMazeEnv
from maze_cli.envs.maze_env import MazeEnv
from maze_cli.envs.worker_pool import WorkerPoolVectorEnv

EnvFactory = Callable[[], MazeEnv]

VECTOR_MODES = ("sequential", "subprocess")


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


class DictVectorEnv(gym.vector.VectorWrapper):
    """Gives a plain-space vector env (e.g. gymnasium's own ``CartPoleVectorEnv``) dict spaces."""

    def __init__(self, env: gym.vector.VectorEnv):
        super().__init__(env)
        self.single_observation_space = gym.spaces.Dict({OBS_KEY: env.single_observation_space})
        self.single_action_space = gym.spaces.Dict({ACTION_KEY: env.single_action_space})
        self.observation_space = gym.spaces.Dict({OBS_KEY: env.observation_space})
        self.action_space = gym.spaces.Dict({ACTION_KEY: env.action_space})

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return {OBS_KEY: obs}, info

    def step(self, actions: Dict[str, np.ndarray]):
        obs, rewards, terminated, truncated, info = self.env.step(actions[ACTION_KEY])
        return {OBS_KEY: obs}, rewards, terminated, truncated, info


def _vector_entry_point_id(probe: MazeEnv) -> Optional[str]:
    """The gymnasium id if ``probe`` is a plain GymMazeEnv of an env with a native vector version."""
    if type(probe) is not GymMazeEnv or probe.gym_id is None or probe.make_kwargs:
        return None
    spec = gym.spec(probe.gym_id)
    return probe.gym_id if spec.vector_entry_point is not None else None


def make_vector_env(env_factory: EnvFactory, n_envs: int, mode: str = "sequential",
                    probe: Optional[MazeEnv] = None, envs_per_worker: int = 1) -> gym.vector.VectorEnv:
    """A vector env of ``n_envs`` copies of ``env_factory()``.

    :param mode: ``"sequential"`` steps all envs in this process; ``"subprocess"`` steps them in
        worker processes (:class:`WorkerPoolVectorEnv`, observations in shared memory).
    :param probe: an env from the same factory; when it is a plain gymnasium env with a
        vectorised implementation (CartPole), sequential mode uses that (several times faster).
    :param envs_per_worker: in subprocess mode, envs each worker process steps; must divide ``n_envs``.
    """
    if mode not in VECTOR_MODES:
        raise ValueError(f"unknown vector env mode {mode!r}: expected one of {VECTOR_MODES}")
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    if mode == "sequential" and probe is not None:
        gym_id = _vector_entry_point_id(probe)
        if gym_id is not None:
            return DictVectorEnv(gym.make_vec(gym_id, n_envs, vectorization_mode="vector_entry_point"))
    if mode == "sequential":
        return gym.vector.SyncVectorEnv([_WorkerEnvFn(env_factory, index) for index in range(n_envs)])
    return WorkerPoolVectorEnv([_WorkerEnvFn(env_factory, index, envs_per_worker) for index in range(n_envs)],
                               envs_per_worker)


class _WorkerEnvFn:
    """Picklable ``() -> env`` that adds worker context to errors (a lambda would not pickle)."""

    def __init__(self, env_factory: EnvFactory, env_index: int, envs_per_worker: int = 1):
        self.env_factory = env_factory
        self.env_index = env_index
        self.envs_per_worker = envs_per_worker

    def __call__(self) -> gym.Env:
        if self.envs_per_worker == 1:
            return ErrorContextWrapper(self.env_factory(), self.env_index)
        return ErrorContextWrapper(self.env_factory(), self.env_index // self.envs_per_worker, self.env_index)


__all__: List[str] = ["EnvError", "EnvWorkerDied", "make_vector_env", "DictVectorEnv",
                      "WorkerPoolVectorEnv", "ErrorContextWrapper", "EnvFactory"]
