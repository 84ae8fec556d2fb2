"""Which vector env runs a factory's envs: gymnasium's vectorised implementation, in-process, or worker processes."""
from __future__ import annotations

from typing import Any, Callable, Optional

import gymnasium as gym

from maze_cli.envs.classic_vector import ARRAY_VECTOR_ENVS
from maze_cli.envs.gym_maze_env import GymMazeEnv
from maze_cli.envs.maze_env import MazeEnv
from maze_cli.envs.vector import EnvFactory, ErrorContextWrapper, NativeVectorEnv, SequentialVectorEnv, VectorEnv
from maze_cli.envs.workers import WorkerPoolVectorEnv

VECTOR_MODES = ("sequential", "subprocess")


def _is_plain_gym_env(probe: MazeEnv) -> bool:
    """Whether ``probe`` is a GymMazeEnv made by id with the registered settings (no ``gym.make`` arguments)."""
    return type(probe) is GymMazeEnv and probe.gym_id is not None and not probe.make_kwargs


def _vector_entry_point_id(probe: MazeEnv) -> Optional[str]:
    """The gymnasium id if ``probe`` is a plain GymMazeEnv of an env with a native vector version."""
    if not _is_plain_gym_env(probe) or probe.spec is None:
        return None
    # the made env's spec: an id given as "module:Id" is registered (as "Id") by importing the module
    return probe.spec.id if probe.spec.vector_entry_point is not None else None


def _array_vector_env(probe: MazeEnv) -> Optional[Callable[[int], VectorEnv]]:
    """Our array implementation of ``probe``'s env (Pendulum, Acrobot) if ``probe`` is a plain GymMazeEnv of it:
    its results equal gymnasium's, step by step."""
    return ARRAY_VECTOR_ENVS.get(probe.gym_id) if _is_plain_gym_env(probe) else None


class WorkerEnvFn:
    """Picklable ``() -> env`` that adds worker context to errors (a lambda would not pickle)."""

    def __init__(self, env_factory: EnvFactory, env_index: int, envs_per_worker: int = 1):
        self.env_factory = env_factory
        self.env_index = env_index
        self.envs_per_worker = envs_per_worker

    def __call__(self) -> gym.Env:
        if self.envs_per_worker == 1:
            return ErrorContextWrapper(self.env_factory(), self.env_index)
        return ErrorContextWrapper(self.env_factory(), self.env_index // self.envs_per_worker, self.env_index)


def make_vector_env(env_factory: EnvFactory, n_envs: int, mode: str = "sequential",
                    probe: Optional[MazeEnv] = None, envs_per_worker: int = 1, **worker_options: Any) -> VectorEnv:
    """A vector env of ``n_envs`` envs from ``env_factory``.

    :param mode: ``"sequential"`` steps all envs in this process; ``"subprocess"`` steps them in
        worker processes (observations in shared memory).
    :param probe: an env from the same factory (built and closed here if omitted); when it is a plain
        gymnasium env with a vectorised implementation (gymnasium's CartPole, our Pendulum and Acrobot in
        :mod:`maze_cli.envs.classic_vector`), sequential mode uses that.
    :param envs_per_worker: in subprocess mode, envs each worker process steps (the last takes the rest).
    :param worker_options: in subprocess mode, :class:`~maze_cli.envs.workers.WorkerPoolVectorEnv`'s
        ``step_timeout_s``, ``restart_failed`` and ``max_restarts``.
    """
    if mode not in VECTOR_MODES:
        raise ValueError(f"unknown vector env mode {mode!r}: expected one of {VECTOR_MODES}")
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    if mode == "sequential":
        own_probe = probe is None
        probe = env_factory() if own_probe else probe
        gym_id = _vector_entry_point_id(probe)
        if own_probe:
            probe.close()
        if gym_id is not None:
            return NativeVectorEnv(gym.make_vec(gym_id, n_envs, vectorization_mode="vector_entry_point"))
        array_env = _array_vector_env(probe)
        if array_env is not None:
            return array_env(n_envs)
    fns = [WorkerEnvFn(env_factory, index, envs_per_worker) for index in range(n_envs)]
    if mode == "sequential":
        return SequentialVectorEnv([fn() for fn in fns])
    return WorkerPoolVectorEnv(fns, envs_per_worker, **worker_options)
