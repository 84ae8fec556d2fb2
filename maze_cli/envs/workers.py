"""Env worker processes, each stepping a group of envs; observations travel through shared memory.

Every vector env that runs envs in other processes is this one, for ordinary and structured envs
alike. A worker process owns a :class:`~maze_cli.envs.vector.SequentialVectorEnv` over
``envs_per_worker`` envs. Per step the main process writes all actions into shared per-sub-step
action buffers and sends every worker a one-word command; the workers step their envs and write
observations (one buffer per sub-step and key, a row per env), actors, rewards and flags at their
envs' offsets, answering only with the final observations of episodes that ended (rare). Nothing
proportional to the observation size is pickled per step, and one message per *worker* (not per
env) crosses a pipe, which is what makes several cheap envs per worker pay off.

One protocol for failures: an env raising inside a worker arrives as :class:`EnvError` naming the
worker, env and step; a worker that dies is noticed through its process at once (no hang) and
reported as :class:`EnvWorkerDied`; closing waits a bounded time, then terminates.
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np
from gymnasium.error import CustomSpaceError
from gymnasium.vector.utils import (CloudpickleWrapper, clear_mpi_env_vars, create_shared_memory,
                                    read_from_shared_memory)

from maze_cli.envs.errors import EnvError, EnvWorkerDied, EnvWorkerTimeout
from maze_cli.envs.vector import Observation, SequentialVectorEnv, VectorStep, actor_list

logger = logging.getLogger("maze_cli")

CLOSE_TIMEOUT_S = 5.0
LIVENESS_CHECK_S = 1.0
"""A worker that stays silent this long is checked for being alive (a dead one usually closes its pipe first)."""
FLAGS = ("terminated", "truncated", "flat_step_done")


class _Buffers:
    """Shared-memory arrays of all envs: observations and actions per sub-step, actors, rewards and flags."""

    def __init__(self, observation_spaces: Dict[int, gym.spaces.Dict], action_spaces: Dict[int, gym.spaces.Dict],
                 n_envs: int, ctx: Any):
        self.raw_obs, self.raw_actions = {}, {}
        for step, space in observation_spaces.items():
            try:
                self.raw_obs[step] = create_shared_memory(space, n=n_envs, ctx=ctx)
                self.raw_actions[step] = create_shared_memory(action_spaces[step], n=n_envs, ctx=ctx)
            except (CustomSpaceError, TypeError) as err:
                raise ValueError(f"env worker processes exchange observations and actions through fixed-size "
                                 f"shared memory, which observation space {space} / action space "
                                 f"{action_spaces[step]} of sub-step {step} do not fit: {err}") from None
        self.raw_actors = ctx.Array("q", n_envs, lock=False)
        self.raw_rewards = ctx.Array("f", n_envs, lock=False)
        self.raw_flags = ctx.Array("b", len(FLAGS) * n_envs, lock=False)
        self.spaces = (observation_spaces, action_spaces)
        self.n_envs = n_envs
        self.views()

    def views(self) -> None:
        """numpy views on the shared arrays (called again in each worker after it starts)."""
        observation_spaces, action_spaces = self.spaces
        self.observations = {s: read_from_shared_memory(space, self.raw_obs[s], n=self.n_envs)
                             for s, space in observation_spaces.items()}
        self.actions = {s: read_from_shared_memory(space, self.raw_actions[s], n=self.n_envs)
                        for s, space in action_spaces.items()}
        self.actors = np.frombuffer(self.raw_actors, dtype=np.int64)
        self.rewards = np.frombuffer(self.raw_rewards, dtype=np.float32)
        flags = np.frombuffer(self.raw_flags, dtype=np.bool_).reshape(len(FLAGS), self.n_envs)
        self.flags = dict(zip(FLAGS, flags))

    def write(self, result: VectorStep, lo: int, hi: int) -> None:
        """A worker's envs' part of a step (rows ``lo:hi``)."""
        for step, arrays in result.observations.items():
            for key, value in arrays.items():
                self.observations[step][key][lo:hi] = value
        self.actors[lo:hi] = result.actors
        self.rewards[lo:hi] = result.rewards
        for name in FLAGS:
            self.flags[name][lo:hi] = getattr(result, name)

    def actions_of(self, lo: int, hi: int) -> Dict[int, Observation]:
        return {step: {key: np.array(value[lo:hi]) for key, value in arrays.items()}
                for step, arrays in self.actions.items()}

    def __getstate__(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("observations", "actions", "actors", "rewards",
                                                                    "flags")}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.views()


def _serve(index: int, envs: SequentialVectorEnv, conn: Connection, buffers: _Buffers, lo: int, hi: int) -> None:
    """Answers commands until ``close``: a step's or reset's answer is the final observations of its envs."""
    while True:
        command, data = conn.recv()
        try:
            if command == "close":
                conn.send((True, None))
                return
            result = envs.step(buffers.actions_of(lo, hi), data) if command == "step" else envs.reset(seed=data)
            buffers.write(result, lo, hi)
            conn.send((True, (result.final, result.episode_kpis)))
        except Exception as err:  # reported to the main process, which raises it
            conn.send((False, _transferable(err, index)))


def _worker(index: int, env_fns: CloudpickleWrapper, conn: Connection, parent_conn: Connection,
            buffers: _Buffers, lo: int, hi: int) -> None:
    """Worker process: builds its envs, then serves commands.

    It ignores SIGINT: Ctrl-C reaches the whole process group, and the trainer, not each worker,
    decides how to stop (save, then close the workers).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_conn.close()
    envs: Optional[SequentialVectorEnv] = None
    try:
        envs = SequentialVectorEnv([fn() for fn in env_fns.fn])
        conn.send((True, None))
        _serve(index, envs, conn, buffers, lo, hi)
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass
    except Exception as err:  # the envs could not be built
        conn.send((False, _transferable(err, index)))
    finally:
        if envs is not None:
            envs.close()


def _transferable(err: Exception, worker: int) -> Exception:
    """An :class:`EnvError` (already naming worker, env and step) as is; any other exception as an
    :class:`EnvError` carrying its type, message and traceback (not every exception pickles)."""
    if isinstance(err, EnvError):
        return err
    return EnvError(f"env worker {worker} raised {type(err).__name__}: {err}\n"
                    f"{''.join(traceback.format_exception(err)).rstrip()}")


class WorkerPoolVectorEnv:
    """A :class:`~maze_cli.envs.vector.VectorEnv` whose envs run in worker processes, ``envs_per_worker`` each.

    Env ``i`` lives in worker ``i // envs_per_worker`` (the last worker takes what remains);
    ``reset(seed=s)`` gives env ``i`` the seed ``s + i``, so the same seed gives the same episodes as a
    ``SequentialVectorEnv`` of the same factories, whatever the grouping.

    :param env_fns: one zero-argument env constructor per env (picklable with cloudpickle).
    :param envs_per_worker: envs each worker process steps one after the other.
    :param step_timeout_s: a worker that has not answered a command within this many seconds is killed
        and reported (``None``: wait for ever; a dead worker is noticed at once either way).
    :param restart_failed: replace a dead or hung worker by a fresh one with fresh envs (its envs' step
        comes back flagged in ``VectorStep.restarted``) instead of raising, at most ``max_restarts`` times.
    :param max_restarts: restarts allowed over the pool's life.
    :param context: multiprocessing start method (default: ``fork`` where available).
    :param name: process name prefix of the workers (``<name>-<index>``).
    """

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]], envs_per_worker: int = 1,
                 step_timeout_s: Optional[float] = None, restart_failed: bool = False, max_restarts: int = 3,
                 context: Optional[str] = None, name: str = "maze-env-worker"):
        if envs_per_worker < 1:
            raise ValueError(f"envs_per_worker={envs_per_worker} must be >= 1")
        self.num_envs = len(env_fns)
        self.envs_per_worker = envs_per_worker
        self.step_timeout_s, self.restart_failed, self.max_restarts = step_timeout_s, restart_failed, max_restarts
        dummy = env_fns[0]()
        self.observation_spaces_dict = dict(dummy.get_wrapper_attr("observation_spaces_dict"))
        self.action_spaces_dict = dict(dummy.get_wrapper_attr("action_spaces_dict"))
        self.actor_ids = actor_list(dummy.get_wrapper_attr("agent_counts_dict"))
        dummy.close()
        if context is None and "fork" in multiprocessing.get_all_start_methods():
            context = "fork"
        self._ctx = multiprocessing.get_context(context)
        self._buffers = _Buffers(self.observation_spaces_dict, self.action_spaces_dict, self.num_envs, self._ctx)
        self._valid = np.ones(self.num_envs, dtype=bool)
        self._env_fns = list(env_fns)
        self._slices = [(lo, min(lo + envs_per_worker, self.num_envs)) for lo in range(0, self.num_envs, envs_per_worker)]
        self.pipes: List[Connection] = []
        self.processes: List[multiprocessing.process.BaseProcess] = []
        self.closed = False
        self.name = name
        self.steps = 0
        self.restarts = 0
        for index in range(len(self._slices)):
            self._start(index)
        try:
            self._gather()  # every worker built its envs (or the error is raised here)
        except Exception:
            self.close()
            raise

    def _start(self, index: int) -> None:
        """Starts worker ``index`` for its slice of envs (again, after a failure)."""
        lo, hi = self._slices[index]
        parent, child = self._ctx.Pipe()
        with clear_mpi_env_vars():
            process = self._ctx.Process(target=_worker, name=f"{self.name}-{index}", daemon=True,
                                        args=(index, CloudpickleWrapper(self._env_fns[lo:hi]), child, parent,
                                              self._buffers, lo, hi))
            process.start()
        child.close()
        if index < len(self.pipes):
            self.pipes[index].close()
            self.pipes[index], self.processes[index] = parent, process
        else:
            self.pipes.append(parent)
            self.processes.append(process)

    def _died(self, index: int) -> EnvWorkerDied:
        process = self.processes[index]
        process.join(timeout=1.0)
        return EnvWorkerDied(f"env worker {index} (pid {process.pid}) died with exit code {process.exitcode}; "
                             f"the run cannot continue without it")

    def _hung(self, index: int) -> EnvWorkerTimeout:
        """Kills worker ``index``, which did not answer in time, and says so."""
        process = self.processes[index]
        process.kill()
        process.join(timeout=CLOSE_TIMEOUT_S)
        return EnvWorkerTimeout(f"env worker {index} (pid {process.pid}) did not finish step {self.steps:,} within "
                                f"{self.step_timeout_s:g} s (runner.step_timeout_s); it was killed")

    def _receive(self, index: int) -> Tuple[bool, Any]:
        """The next answer of worker ``index``; its death or a timeout raises (the one place that waits)."""
        pipe, process = self.pipes[index], self.processes[index]
        deadline = None if self.step_timeout_s is None else time.monotonic() + self.step_timeout_s
        while not pipe.poll(LIVENESS_CHECK_S if deadline is None
                            else max(0.0, min(LIVENESS_CHECK_S, deadline - time.monotonic()))):
            if not process.is_alive():
                raise self._died(index)
            if deadline is not None and time.monotonic() >= deadline:
                raise self._hung(index)
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

    def _restart(self, index: int, failure: EnvWorkerDied) -> Dict[int, Tuple[Observation, int]]:
        """Replaces failed worker ``index`` by a fresh one whose envs start new episodes; their answer to a reset."""
        if not self.restart_failed or self.restarts >= self.max_restarts:
            if self.restart_failed:
                raise EnvWorkerDied(f"{failure} (runner.max_worker_restarts={self.max_restarts} restarts used)")
            raise failure
        self.restarts += 1
        logger.warning(f"{failure}; restarting it with fresh envs (restart {self.restarts} of {self.max_restarts})")
        self._start(index)
        ok, payload = self._receive(index)  # built
        if ok:
            self.pipes[index].send(("reset", None))
            ok, payload = self._receive(index)
        if not ok:
            raise payload
        return payload[0]

    def _command(self, command: str, data: Optional[List[Any]] = None, idle: Optional[List[bool]] = None
                 ) -> VectorStep:
        """Sends ``command`` (with ``data[i]`` for worker ``i``) to every worker not ``idle``; the step they wrote
        (the rows of idle workers: no reward, no episode end)."""
        if self.closed:
            raise gym.error.ClosedEnvironmentError("the env worker pool is closed")
        busy = [index for index in range(len(self.pipes)) if idle is None or not idle[index]]
        for index in busy:
            try:
                self.pipes[index].send((command, None if data is None else data[index]))
            except (BrokenPipeError, ConnectionError):
                pass  # the worker is gone: receiving from it below reports (or replaces) it
        final, kpis, restarted, error = {}, {}, None, None
        buffers = self._buffers
        for index in set(range(len(self.pipes))) - set(busy):
            lo, hi = self._slices[index]
            buffers.rewards[lo:hi] = 0.0
            for name in FLAGS:
                buffers.flags[name][lo:hi] = False
        for index in busy:
            try:
                ok, part = self._receive(index)
            except EnvWorkerDied as failure:
                self._restart(index, failure)
                lo, hi = self._slices[index]
                restarted = np.zeros(self.num_envs, dtype=bool) if restarted is None else restarted
                restarted[lo:hi] = True
                continue
            if not ok:
                error = error or part
                continue
            lo = self._slices[index][0]
            final.update({lo + env: value for env, value in part[0].items()})
            kpis.update({lo + env: value for env, value in part[1].items()})
        if error is not None:
            raise error
        if restarted is not None:
            for name in FLAGS:
                buffers.flags[name][restarted] = name == "flat_step_done"
            buffers.rewards[restarted] = 0.0
        return VectorStep(buffers.observations, buffers.actors, buffers.rewards, buffers.flags["terminated"],
                          buffers.flags["truncated"], buffers.flags["flat_step_done"],
                          self._valid if data is None or command != "step" else np.concatenate(data), final,
                          restarted, kpis)

    def reset(self, seed: Optional[int] = None) -> VectorStep:
        k = self.envs_per_worker
        return self._command("reset", [None if seed is None else seed + index * k for index in range(len(self.pipes))])

    def step(self, actions: Dict[int, Observation], active: Optional[np.ndarray] = None) -> VectorStep:
        self.steps += 1
        for step, arrays in actions.items():
            for key, value in arrays.items():
                self._buffers.actions[step][key][...] = value
        if active is None:
            return self._command("step")
        parts = [np.array(active[lo:hi], dtype=bool) for lo, hi in self._slices]
        return self._command("step", parts, [not part.any() for part in parts])

    def close(self) -> None:
        """Asks live workers to exit; any that do not within a few seconds are terminated."""
        if self.closed:
            return
        self.closed = True
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
