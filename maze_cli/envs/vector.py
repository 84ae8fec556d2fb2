"""Vector envs over MazeEnv factories: sequential (in-process) or subprocess workers.

All vector envs here use gymnasium's default NEXT_STEP autoreset: the step after an
episode ends is a reset step. The rollout collector masks those steps out of training,
and because the step that ended the episode returned the *final* observation, the value
of that observation bootstraps a truncated episode without extra bookkeeping.
"""
from __future__ import annotations

import multiprocessing
import signal
import time
from typing import Any, Callable, Dict, List, Optional

import gymnasium as gym
import numpy as np

from maze_cli.envs.gym_maze_env import ACTION_KEY, OBS_KEY, GymMazeEnv
from maze_cli.envs.maze_env import MazeEnv

EnvFactory = Callable[[], MazeEnv]

VECTOR_MODES = ("sequential", "subprocess")


class EnvError(RuntimeError):
    """An env raised inside ``reset`` or ``step``; the message names the worker, env and step."""


class EnvWorkerDied(RuntimeError):
    """A subprocess env worker exited without answering."""


class ErrorContextWrapper(gym.Wrapper):
    """Re-raises an env's exception as :class:`EnvError` naming the worker, the env and the step.

    It runs inside the worker, so the context survives the trip back to the main process.
    """

    def __init__(self, env: gym.Env, worker_index: int):
        super().__init__(env)
        self.worker_index = worker_index
        self.steps = 0

    def _fail(self, where: str, err: Exception) -> EnvError:
        return EnvError(f"env worker {self.worker_index} ({self.env!r}) raised in {where} at step "
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


class SubprocessVectorEnv(gym.vector.AsyncVectorEnv):
    """gymnasium's ``AsyncVectorEnv`` (shared-memory observations) that never hangs on a dead worker."""

    def _check_alive(self) -> None:
        for index, process in enumerate(self.processes):
            if not process.is_alive():
                raise EnvWorkerDied(f"env worker {index} (pid {process.pid}) died with exit code "
                                    f"{process.exitcode}; the run cannot continue without it")

    def _translate(self, err: Exception) -> Exception:
        """A closed pipe means a worker died; wait briefly for the OS to report which one."""
        if isinstance(err, (EOFError, OSError)):
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                try:
                    self._check_alive()
                except EnvWorkerDied as died:
                    return died
                time.sleep(0.05)
        return err

    def close_extras(self, timeout: Optional[float] = None, terminate: bool = False) -> None:
        """Closing must work after a worker died: surviving workers are then terminated."""
        try:
            super().close_extras(timeout, terminate)
        except (EOFError, OSError, EnvWorkerDied, EnvError):
            for process in self.processes:
                if process.is_alive():
                    process.terminate()
                process.join(timeout=1)

    def step_wait(self, timeout: Optional[float] = None):
        try:
            return super().step_wait(timeout)
        except Exception as err:
            raise self._translate(err) from err

    def reset_wait(self, timeout: Optional[float] = None):
        try:
            return super().reset_wait(timeout)
        except Exception as err:
            raise self._translate(err) from err

    def step_async(self, actions):
        try:
            super().step_async(actions)
        except Exception as err:
            raise self._translate(err) from err


def _vector_entry_point_id(probe: MazeEnv) -> Optional[str]:
    """The gymnasium id if ``probe`` is a plain GymMazeEnv of an env with a native vector version."""
    if type(probe) is not GymMazeEnv or probe.gym_id is None or probe.make_kwargs:
        return None
    spec = gym.spec(probe.gym_id)
    return probe.gym_id if spec.vector_entry_point is not None else None


def make_vector_env(env_factory: EnvFactory, n_envs: int, mode: str = "sequential",
                    probe: Optional[MazeEnv] = None) -> gym.vector.VectorEnv:
    """A vector env of ``n_envs`` copies of ``env_factory()``.

    :param mode: ``"sequential"`` steps all envs in this process; ``"subprocess"`` gives each
        env its own worker process with observations in shared memory.
    :param probe: an env from the same factory; when it is a plain gymnasium env with a
        vectorised implementation (CartPole), sequential mode uses that (several times faster).
    """
    if mode not in VECTOR_MODES:
        raise ValueError(f"unknown vector env mode {mode!r}: expected one of {VECTOR_MODES}")
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    if mode == "sequential" and probe is not None:
        gym_id = _vector_entry_point_id(probe)
        if gym_id is not None:
            return DictVectorEnv(gym.make_vec(gym_id, n_envs, vectorization_mode="vector_entry_point"))
    fns = [_WorkerEnvFn(env_factory, index, in_subprocess=mode == "subprocess") for index in range(n_envs)]
    if mode == "sequential":
        return gym.vector.SyncVectorEnv(fns)
    context = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    return SubprocessVectorEnv(fns, shared_memory=True, context=context)


class _WorkerEnvFn:
    """Picklable ``() -> env`` that adds worker context to errors (a lambda would not pickle).

    In a worker process it also ignores SIGINT: Ctrl-C reaches the whole process group, and the
    trainer, not each worker, decides how to stop (save, then close the workers).
    """

    def __init__(self, env_factory: EnvFactory, worker_index: int, in_subprocess: bool = False):
        self.env_factory = env_factory
        self.worker_index = worker_index
        self.in_subprocess = in_subprocess

    def __call__(self) -> gym.Env:
        if self.in_subprocess:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return ErrorContextWrapper(self.env_factory(), self.worker_index)



__all__: List[str] = ["EnvError", "EnvWorkerDied", "make_vector_env", "DictVectorEnv",
                      "SubprocessVectorEnv", "ErrorContextWrapper", "EnvFactory"]
