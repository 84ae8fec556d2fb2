"""Env worker processes that each step a group of envs, exchanging observations through shared memory.

One worker process owns ``envs_per_worker`` envs in a gymnasium ``SyncVectorEnv`` (which does the
NEXT_STEP autoreset). Per step the main process writes all actions into a shared action buffer and
sends every worker a one-word command; the workers step their envs and write observations, rewards
and termination flags into shared buffers at their envs' offsets, answering only with their infos.
Nothing proportional to the observation size is pickled, and one message per *worker* (not per env)
crosses a pipe, which is what makes several cheap envs per worker pay off.

A worker that dies is noticed through its process sentinel at once (no hang), and reported as
:class:`EnvWorkerDied` naming the worker; an env raising inside a worker arrives as :class:`EnvError`.
"""
from __future__ import annotations

import multiprocessing
import signal
import traceback
from multiprocessing.connection import Connection
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np
from gymnasium.error import CustomSpaceError
from gymnasium.vector.utils import (CloudpickleWrapper, batch_space, clear_mpi_env_vars, create_shared_memory,
                                    read_from_shared_memory)

from maze_cli.envs.errors import EnvError, EnvWorkerDied

CLOSE_TIMEOUT_S = 5.0
LIVENESS_CHECK_S = 1.0
"""A worker that stays silent this long is checked for being alive (a dead one usually closes its pipe first)."""


def _assign(dest: Any, value: Any) -> None:
    """``dest[...] = value`` through (nested) dicts of arrays."""
    if isinstance(dest, Mapping):
        for key in dest:
            _assign(dest[key], value[key])
    else:
        dest[...] = value


def _sliced(batch: Any, lo: int, hi: int) -> Any:
    """The rows ``lo:hi`` of a (nested dict of) batched arrays, as views."""
    if isinstance(batch, Mapping):
        return {key: _sliced(value, lo, hi) for key, value in batch.items()}
    return batch[lo:hi]


def _copied(batch: Any) -> Any:
    if isinstance(batch, Mapping):
        return {key: _copied(value) for key, value in batch.items()}
    return np.array(batch, copy=True)


def unbatch_info(info: Mapping[str, Any], n: int) -> List[Dict[str, Any]]:
    """Splits a vector env's info dict (arrays with ``_key`` masks) into one info dict per env."""
    per_env: List[Dict[str, Any]] = [{} for _ in range(n)]
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get(f"_{key}", np.ones(n, dtype=bool))
        parts = unbatch_info(value, n) if isinstance(value, Mapping) else value
        for index in np.flatnonzero(mask):
            per_env[index][key] = parts[index]
    return per_env


class _Buffers:
    """Shared-memory arrays of all envs: observations, actions, rewards and termination flags."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, n_envs: int, ctx: Any):
        try:
            self.raw_obs = create_shared_memory(observation_space, n=n_envs, ctx=ctx)
            self.raw_actions = create_shared_memory(action_space, n=n_envs, ctx=ctx)
        except (CustomSpaceError, TypeError) as err:
            raise ValueError(f"env worker processes exchange observations and actions through fixed-size "
                             f"shared memory, which observation space {observation_space} / action space "
                             f"{action_space} do not fit: {err}") from None
        self.raw_rewards = ctx.Array("d", n_envs, lock=False)
        self.raw_flags = ctx.Array("b", 2 * n_envs, lock=False)
        self.spaces = (observation_space, action_space)
        self.n_envs = n_envs
        self.views()

    def views(self) -> None:
        """numpy views on the shared arrays (called again in each worker after it starts)."""
        obs_space, action_space = self.spaces
        self.observations = read_from_shared_memory(obs_space, self.raw_obs, n=self.n_envs)
        self.actions = read_from_shared_memory(action_space, self.raw_actions, n=self.n_envs)
        self.rewards = np.frombuffer(self.raw_rewards, dtype=np.float64)
        flags = np.frombuffer(self.raw_flags, dtype=np.int8).reshape(2, self.n_envs)
        self.terminated, self.truncated = flags[0], flags[1]

    def __getstate__(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()
                if k not in ("observations", "actions", "rewards", "terminated", "truncated")}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.views()


def _worker(index: int, env_fns: CloudpickleWrapper, conn: Connection, parent_conn: Connection,
            buffers: _Buffers, lo: int, hi: int) -> None:
    """Worker process: builds its envs, then serves reset/step/call commands until ``close``.

    It ignores SIGINT: Ctrl-C reaches the whole process group, and the trainer, not each worker,
    decides how to stop (save, then close the workers).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_conn.close()
    envs: Optional[gym.vector.SyncVectorEnv] = None
    obs_slice, action_slice = _sliced(buffers.observations, lo, hi), _sliced(buffers.actions, lo, hi)
    try:
        envs = gym.vector.SyncVectorEnv(env_fns.fn)
        conn.send((True, None))
        while True:
            command, data = conn.recv()
            try:
                if command == "step":
                    obs, rewards, terminated, truncated, info = envs.step(_copied(action_slice))
                    _assign(obs_slice, obs)
                    buffers.rewards[lo:hi] = rewards
                    buffers.terminated[lo:hi] = terminated
                    buffers.truncated[lo:hi] = truncated
                    conn.send((True, info))
                elif command == "reset":
                    obs, info = envs.reset(**data)
                    _assign(obs_slice, obs)
                    conn.send((True, info))
                elif command == "call":
                    name, args, kwargs = data
                    conn.send((True, envs.call(name, *args, **kwargs)))
                elif command == "close":
                    conn.send((True, None))
                    break
                else:
                    raise ValueError(f"unknown env worker command {command!r}")
            except Exception as err:  # reported to the main process, which raises it
                conn.send((False, _transferable(err, index)))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass
    except Exception as err:  # the envs could not be built
        conn.send((False, _transferable(err, index)))
    finally:
        if envs is not None:
            envs.close()


def _transferable(err: Exception, worker_index: int) -> Exception:
    """An :class:`EnvError` (already naming worker, env and step) as is; any other exception as an
    :class:`EnvError` carrying its type, message and traceback (not every exception pickles)."""
    if isinstance(err, EnvError):
        return err
    return EnvError(f"env worker {worker_index} raised {type(err).__name__}: {err}\n"
                    f"{''.join(traceback.format_exception(err)).rstrip()}")


class WorkerPoolVectorEnv(gym.vector.VectorEnv):
    """A gymnasium vector env whose envs run in worker processes, ``envs_per_worker`` per process.

    Env ``i`` lives in worker ``i // envs_per_worker``; seeds follow gymnasium's convention
    (``reset(seed=s)`` gives env ``i`` the seed ``s + i``), so the same seed gives the same episodes
    as a ``SyncVectorEnv`` of the same factories, whatever the grouping.

    :param env_fns: one zero-argument env constructor per env (picklable with cloudpickle).
    :param envs_per_worker: envs each worker process steps one after the other.
    :param context: multiprocessing start method (default: ``fork`` where available).
    """

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]], envs_per_worker: int = 1,
                 context: Optional[str] = None):
        if envs_per_worker < 1 or len(env_fns) % envs_per_worker:
            raise ValueError(f"envs_per_worker={envs_per_worker} must be >= 1 and divide the number of envs "
                             f"({len(env_fns)})")
        self.num_envs = len(env_fns)
        self.envs_per_worker = envs_per_worker
        dummy = env_fns[0]()
        self.metadata = dict(dummy.metadata, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)
        self.render_mode = dummy.render_mode
        self.single_observation_space = dummy.observation_space
        self.single_action_space = dummy.action_space
        dummy.close()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        if context is None and "fork" in multiprocessing.get_all_start_methods():
            context = "fork"
        ctx = multiprocessing.get_context(context)
        self._buffers = _Buffers(self.single_observation_space, self.single_action_space, self.num_envs, ctx)
        self.pipes: List[Connection] = []
        self.processes: List[multiprocessing.process.BaseProcess] = []
        with clear_mpi_env_vars():
            for index in range(self.num_envs // envs_per_worker):
                lo, hi = index * envs_per_worker, (index + 1) * envs_per_worker
                parent, child = ctx.Pipe()
                process = ctx.Process(target=_worker, name=f"maze-env-worker-{index}", daemon=True,
                                      args=(index, CloudpickleWrapper(list(env_fns[lo:hi])), child, parent,
                                            self._buffers, lo, hi))
                process.start()
                child.close()
                self.pipes.append(parent)
                self.processes.append(process)
        try:
            self._gather()  # every worker built its envs (or the error is raised here)
        except Exception:
            self.close()
            raise

    # --- talking to workers -------------------------------------------------------------------

    def _died(self, index: int) -> EnvWorkerDied:
        process = self.processes[index]
        process.join(timeout=1.0)
        return EnvWorkerDied(f"env worker {index} (pid {process.pid}) died with exit code {process.exitcode}; "
                             f"the run cannot continue without it")

    def _receive(self, index: int) -> Tuple[bool, Any]:
        """The next answer of worker ``index``; its death (pipe closed, or process gone) raises at once."""
        pipe, process = self.pipes[index], self.processes[index]
        while not pipe.poll(LIVENESS_CHECK_S):
            if not process.is_alive():
                raise self._died(index)
        try:
            return pipe.recv()
        except (EOFError, ConnectionError):
            raise self._died(index) from None

    def _gather(self) -> List[Any]:
        """One answer from every worker, in worker order; the first error is raised after all answered."""
        answers = [self._receive(index) for index in range(len(self.pipes))]
        for ok, payload in answers:
            if not ok:
                raise payload
        return [payload for _, payload in answers]

    def _command(self, command: str, data: Optional[List[Any]] = None) -> List[Any]:
        """Sends ``command`` (with ``data[i]`` for worker ``i``) to every worker and gathers the answers."""
        if self.closed:
            raise gym.error.ClosedEnvironmentError("the env worker pool is closed")
        for index, pipe in enumerate(self.pipes):
            try:
                pipe.send((command, None if data is None else data[index]))
            except (BrokenPipeError, ConnectionError):
                raise self._died(index) from None
        return self._gather()

    def _merge_infos(self, worker_infos: List[Dict[str, Any]]) -> Dict[str, Any]:
        infos: Dict[str, Any] = {}
        for worker, info in enumerate(worker_infos):
            if info:
                for offset, env_info in enumerate(unbatch_info(info, self.envs_per_worker)):
                    if env_info:
                        infos = self._add_info(infos, env_info, worker * self.envs_per_worker + offset)
        return infos

    # --- gymnasium VectorEnv interface --------------------------------------------------------

    def reset(self, *, seed: Optional[int | List[Optional[int]]] = None,
              options: Optional[Dict[str, Any]] = None) -> Tuple[Any, Dict[str, Any]]:
        if isinstance(seed, int):
            seed = [seed + i for i in range(self.num_envs)]
        if seed is not None and len(seed) != self.num_envs:
            raise ValueError(f"reset(seed=...) got {len(seed)} seeds for {self.num_envs} envs")
        k = self.envs_per_worker
        data = [{"seed": None if seed is None else list(seed[index * k:(index + 1) * k]), "options": options}
                for index in range(len(self.pipes))]
        infos = self._merge_infos(self._command("reset", data))
        return _copied(self._buffers.observations), infos

    def step(self, actions: Any) -> Tuple[Any, np.ndarray, np.ndarray, np.ndarray, Dict[str, Any]]:
        _assign(self._buffers.actions, actions)
        infos = self._merge_infos(self._command("step"))
        buffers = self._buffers
        return (_copied(buffers.observations), buffers.rewards.copy(), buffers.terminated.astype(bool),
                buffers.truncated.astype(bool), infos)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Tuple[Any, ...]:
        """``name(*args, **kwargs)`` (or the attribute ``name``) of every env, in env order."""
        data = [(name, args, kwargs)] * len(self.pipes)
        return tuple(result for worker in self._command("call", data) for result in worker)

    def get_attr(self, name: str) -> Tuple[Any, ...]:
        return self.call(name)

    def close_extras(self, **kwargs: Any) -> None:
        """Asks live workers to exit; any that do not within a few seconds are terminated."""
        for pipe, process in zip(self.pipes, self.processes):
            if process.is_alive():
                try:
                    pipe.send(("close", None))
                except (BrokenPipeError, ConnectionError):
                    pass
        for pipe, process in zip(self.pipes, self.processes):
            process.join(timeout=CLOSE_TIMEOUT_S)
            if process.is_alive():
                process.terminate()
                process.join()
            pipe.close()

    def __repr__(self) -> str:
        return (f"WorkerPoolVectorEnv(num_envs={self.num_envs}, workers={len(self.processes)}, "
                f"envs_per_worker={self.envs_per_worker})")
