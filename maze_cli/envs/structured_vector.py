"""Vector envs for structured MazeEnvs, whose envs may each wait for a different actor.

gymnasium's vector envs batch observations into one array per key, which needs one fixed
observation space; a structured env's space changes with its sub-step, and at any moment the
envs of a vector env may be at different sub-steps. These vector envs therefore return one
observation dict per env together with the actor each env waits for, and the collector groups
envs by actor to act in batches.

They reset an env in the same call in which its episode ended (same-step autoreset): the step
returns the first observation of the new episode, and the final observation of the ended one is
returned separately so that a truncated episode can be bootstrapped from its value.
"""
from __future__ import annotations

import multiprocessing
import pickle
import signal
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple

import gymnasium as gym
import numpy as np

from maze_cli.envs.maze_env import ActorID
from maze_cli.envs.vector import VECTOR_MODES, EnvError, EnvFactory, EnvWorkerDied, _WorkerEnvFn

Observation = Dict[str, np.ndarray]
POLL_SECONDS = 0.5


@dataclass
class StructuredStep:
    """What one step of every env of a structured vector env returned.

    :param observations: per env, the observation for its next decision (of a new episode after an end).
    :param actor_ids: per env, the actor that decides next (the actor of ``observations``).
    :param rewards: per env, the reward of this step.
    :param terminated: per env, the episode reached a terminal state in this step.
    :param truncated: per env, the episode was cut off (e.g. a time limit) in this step.
    :param flat_step_done: per env, this step completed a flat step (``info["flat_step_done"]``, default true).
    :param final: ``{env index: (final observation, its actor)}`` of the episodes that ended in this step.
    """

    observations: List[Observation]
    actor_ids: List[ActorID]
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    flat_step_done: np.ndarray
    final: Dict[int, Tuple[Observation, ActorID]] = field(default_factory=dict)

    @staticmethod
    def concat(parts: Sequence["StructuredStep"]) -> "StructuredStep":
        """Joins the steps of consecutive groups of envs (e.g. of several worker processes)."""
        final, offset = {}, 0
        for part in parts:
            final.update({offset + index: value for index, value in part.final.items()})
            offset += len(part.observations)
        return StructuredStep(
            observations=[obs for part in parts for obs in part.observations],
            actor_ids=[actor for part in parts for actor in part.actor_ids],
            rewards=np.concatenate([part.rewards for part in parts]),
            terminated=np.concatenate([part.terminated for part in parts]),
            truncated=np.concatenate([part.truncated for part in parts]),
            flat_step_done=np.concatenate([part.flat_step_done for part in parts]), final=final)


def _actor_of(env: gym.Env) -> ActorID:
    step, agent = env.get_wrapper_attr("actor_id")()
    return int(step), int(agent)


class SequentialStructuredVectorEnv:
    """Structured envs stepped one after the other in this process.

    :param env_fns: one zero-argument callable per env.
    """

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]):
        self.envs = [fn() for fn in env_fns]
        self.num_envs = len(self.envs)

    def reset(self, seed: Optional[int] = None) -> Tuple[List[Observation], List[ActorID]]:
        """Resets every env (env ``i`` with ``seed + i``); returns observations and actors."""
        observations = []
        for index, env in enumerate(self.envs):
            obs, _ = env.reset(seed=None if seed is None else seed + index)
            observations.append(obs)
        return observations, [_actor_of(env) for env in self.envs]

    def step(self, actions: Sequence[Dict[str, Any]]) -> StructuredStep:
        """Applies ``actions[i]`` (the action of env ``i``'s current actor) to every env."""
        n = self.num_envs
        if len(actions) != n:
            raise ValueError(f"structured vector env: got {len(actions)} actions for {n} envs")
        observations, actors, final = [], [], {}
        rewards = np.zeros(n)
        terminated, truncated, flat_done = (np.zeros(n, dtype=bool) for _ in range(3))
        for index, (env, action) in enumerate(zip(self.envs, actions)):
            obs, rewards[index], terminated[index], truncated[index], info = env.step(action)
            flat_done[index] = bool(info.get("flat_step_done", True))
            actor = _actor_of(env)
            if terminated[index] or truncated[index]:
                final[index] = (obs, actor)
                obs, _ = env.reset()
                actor = _actor_of(env)
            observations.append(obs)
            actors.append(actor)
        return StructuredStep(observations, actors, rewards, terminated, truncated, flat_done, final)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _worker(conn: Connection, env_fns: Sequence[Callable[[], gym.Env]]) -> None:
    """A worker process: owns a sequential vector env and answers ``(command, argument)`` messages.

    An exception is sent back instead of a result; the main process raises it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the trainer's to handle, not each worker's
    envs = None
    try:
        while True:
            command, argument = conn.recv()
            try:
                if command == "close":
                    break
                if envs is None:
                    envs = SequentialStructuredVectorEnv(env_fns)
                result = envs.reset(argument) if command == "reset" else envs.step(argument)
                conn.send(("ok", result))
            except Exception as err:  # the env's error, already naming worker and step (ErrorContextWrapper)
                conn.send(("error", _picklable(err)))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        if envs is not None:
            envs.close()
        conn.close()


def _picklable(err: Exception) -> Exception:
    """``err`` itself if it survives the pipe, else an :class:`EnvError` carrying its message."""
    try:
        pickle.dumps(err)
        return err
    except Exception:
        return EnvError(f"{type(err).__name__}: {err}")


class SubprocessStructuredVectorEnv:
    """Structured envs in worker processes, each stepping ``envs_per_worker`` envs; messages go through pipes.

    Observations of structured envs change shape with the sub-step, so they travel pickled rather
    than through fixed shared-memory buffers. All workers step in parallel; a worker that dies is
    reported at once as :class:`~maze_cli.envs.EnvWorkerDied`.

    :param env_fns: one zero-argument callable per env (picklable).
    :param envs_per_worker: envs owned by each worker process.
    """

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]], envs_per_worker: int = 1):
        if envs_per_worker < 1:
            raise ValueError(f"envs_per_worker must be >= 1, got {envs_per_worker}")
        self.num_envs = len(env_fns)
        self._offsets = list(range(0, self.num_envs, envs_per_worker))
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        context = multiprocessing.get_context(method)
        self.conns: List[Connection] = []
        self.processes = []
        for offset in self._offsets:
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, list(env_fns[offset:offset + envs_per_worker])),
                                      daemon=True)
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)
        self._closed = False

    def _receive(self, index: int) -> Any:
        conn, process = self.conns[index], self.processes[index]
        try:
            while not conn.poll(POLL_SECONDS):
                if not process.is_alive():
                    raise EOFError
            status, result = conn.recv()
        except (EOFError, OSError):
            process.join(timeout=1)
            raise EnvWorkerDied(f"structured env worker {index} (pid {process.pid}) died with exit code "
                                f"{process.exitcode}; the run cannot continue without it") from None
        if status == "error":
            raise result
        return result

    def _broadcast(self, command: str, arguments: Sequence[Any]) -> List[Any]:
        for index, (conn, argument) in enumerate(zip(self.conns, arguments)):
            try:
                conn.send((command, argument))
            except (OSError, EOFError):
                self._receive(index)  # raises EnvWorkerDied naming the worker
        return [self._receive(index) for index in range(len(self.conns))]

    def reset(self, seed: Optional[int] = None) -> Tuple[List[Observation], List[ActorID]]:
        results = self._broadcast("reset", [None if seed is None else seed + offset for offset in self._offsets])
        return [obs for part, _ in results for obs in part], [actor for _, part in results for actor in part]

    def step(self, actions: Sequence[Dict[str, Any]]) -> StructuredStep:
        if len(actions) != self.num_envs:
            raise ValueError(f"structured vector env: got {len(actions)} actions for {self.num_envs} envs")
        bounds = self._offsets + [self.num_envs]
        chunks = [list(actions[start:end]) for start, end in zip(bounds[:-1], bounds[1:])]
        return StructuredStep.concat(self._broadcast("step", chunks))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in self.conns:
            try:
                conn.send(("close", None))
            except (OSError, EOFError):
                pass
        for process in self.processes:
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()
                process.join(timeout=1)
        for conn in self.conns:
            conn.close()


class StructuredVectorEnv(Protocol):
    """The interface both structured vector envs share."""

    num_envs: int

    def reset(self, seed: Optional[int] = None) -> Tuple[List[Observation], List[ActorID]]:
        """Observations and actors of every env after a reset."""

    def step(self, actions: Sequence[Dict[str, Any]]) -> StructuredStep:
        """One step of every env with its current actor's action."""

    def close(self) -> None:
        """Release envs and workers."""


def make_structured_vector_env(env_factory: EnvFactory, n_envs: int, mode: str = "sequential",
                               envs_per_worker: int = 1) -> StructuredVectorEnv:
    """A structured vector env of ``n_envs`` envs from ``env_factory``.

    :param mode: ``"sequential"`` (this process) or ``"subprocess"`` (worker processes).
    :param envs_per_worker: envs per worker process in subprocess mode.
    """
    if mode not in VECTOR_MODES:
        raise ValueError(f"unknown vector env mode {mode!r}: expected one of {VECTOR_MODES}")
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    fns = [_WorkerEnvFn(env_factory, index) for index in range(n_envs)]
    if mode == "sequential":
        return SequentialStructuredVectorEnv(fns)
    return SubprocessStructuredVectorEnv(fns, envs_per_worker)

