"""Asynchronous acting on one machine (IMPALA under ``runner=local``): actor processes that keep acting.

Each actor process owns ``envs_per_worker`` envs and a copy of the policy. It runs the same
:class:`~maze_cli.train.rollout.RolloutCollector` as every other runner, one rollout after the other,
and puts each rollout, tagged with the version of the weights it acted with, on a bounded queue. The
learner takes rollouts in arrival order (a slow actor holds nobody up), and publishes its weights into
shared memory every ``broadcast_interval`` updates; an actor picks up the newest weights before each
rollout. A full queue blocks the actors, which bounds the policy lag.
"""
from __future__ import annotations

import copy
import multiprocessing
import queue
import signal
import time
import traceback
from typing import Any, Dict, List, NamedTuple, Optional

import numpy as np
import torch
from gymnasium.vector.utils import CloudpickleWrapper

from maze_cli.envs.errors import EnvError, EnvWorkerDied, EnvWorkerTimeout
from maze_cli.envs.log_stats import merge_reduced_stats
from maze_cli.envs.vector import EnvFactory
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.collectors import make_rollout_collector
from maze_cli.train.restarts import RestartBudget

POLL_S = 0.1
"""How often the learner looks at its actors while it waits for a rollout."""
CLOSE_TIMEOUT_S = 5.0


class Rollout(NamedTuple):
    """What an actor sends: its rollout (numpy arrays), the weights' version it acted with, its episodes."""

    actor: int
    version: int
    batch: RolloutBatch
    episode_stats: Dict[str, float]


class ActorFailure(NamedTuple):
    """An actor's last message when its env or policy raised."""

    actor: int
    error: str


class PolicyVersions:
    """The learner's version (updates handed out so far) and the policy lag of the rollouts it consumed."""

    def __init__(self) -> None:
        self.updates = 0
        self._lags: List[int] = []

    def consumed(self, behaviour_versions: List[int]) -> None:
        """Books the rollouts of one update, acted with weights of ``behaviour_versions``."""
        self._lags.extend(self.updates - version for version in behaviour_versions)
        self.updates += 1

    def pop_stats(self) -> Dict[str, float]:
        """``train/policy_lag_mean`` and ``_max``: learner updates between a rollout's weights and its update."""
        lags = np.asarray(self._lags or [np.nan], dtype=np.float64)
        self._lags = []
        return {"train/policy_lag_mean": float(lags.mean()), "train/policy_lag_max": float(lags.max())}


def _learner_alive() -> bool:
    """False once the learner's process is gone (killed without a chance to stop its actors)."""
    parent = multiprocessing.parent_process()
    return parent is None or parent.is_alive()


def _put(channel: Any, message: Any, stop: Any) -> None:
    """Puts ``message`` on the queue, waiting while it is full, unless the learner asks the actors to stop
    (or is gone)."""
    while not stop.value and _learner_alive():
        try:
            channel.put(message, timeout=POLL_S)
            return
        except queue.Full:
            continue


def _read_weights(policy: TorchPolicy, shared: TorchPolicy, version: Any, sequence: Any) -> int:
    """Copies the published weights into ``policy``; returns their version.

    Lock-free (a sequence lock): the learner makes ``sequence`` odd while it writes, and a copy is kept only if
    ``sequence`` was even and unchanged around it. With a shared lock instead, an actor killed while it held the
    lock left the learner and every other actor waiting for it forever.
    """
    while True:
        before = sequence.value
        if before % 2 == 0:
            published = version.value
            policy.load_state_dict(shared.state_dict())
            if sequence.value == before:
                return published
        time.sleep(0.001)


def _actor_main(index: int, env_factory: CloudpickleWrapper, shared: TorchPolicy, n_envs: int, n_steps: int,
                env_seed: int, torch_seed: int, version: Any, sequence: Any, channel: Any, stop: Any) -> None:
    """An actor process: rollouts with the newest published weights, until the learner says stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the learner's to handle; it stops the actors
    torch.set_num_threads(1)
    torch.manual_seed(torch_seed)
    collector = None
    try:
        policy = copy.deepcopy(shared)  # private weights: the shared ones change under the learner's hand
        collector = make_rollout_collector(env_factory.fn, n_envs, "sequential", policy, None, n_steps, env_seed,
                                           store_next_observations=True)
        acted_with = -1
        while not stop.value and _learner_alive():
            if version.value != acted_with:
                acted_with = _read_weights(policy, shared, version, sequence)
            batch = collector.collect().apply(lambda tensor: tensor.numpy().copy())
            _put(channel, Rollout(index, acted_with, batch, collector.episodes.pop("train")), stop)
    except Exception:  # noqa: BLE001 - reported to the learner, which names this actor
        _put(channel, ActorFailure(index, traceback.format_exc()), stop)  # flushed when this process exits
    finally:
        if collector is not None:
            collector.close()
    if stop.value or not _learner_alive():
        channel.cancel_join_thread()  # nobody reads what is still queued: exit without waiting for it


class ActorPoolCollector:
    """The learner's side of asynchronous acting: starts the actors, publishes weights, hands out rollouts.

    Each :meth:`collect` returns ``n_actors`` rollouts joined along the env axis (``n_actors *
    envs_per_actor`` envs of ``n_steps`` steps, as a synchronous runner's), in the order they arrived.
    An actor that dies, raises, or delivers no rollout within ``step_timeout_s * n_steps`` seconds while
    the learner waits is named and stops the run, or is replaced (``restart_failed``).

    :param policy: the learner's policy; actors act with copies on the CPU.
    :param seed: actor ``i``'s envs reset with ``seed + i * envs_per_actor + j``.
    :param broadcast_interval: updates between weight publications.
    :param queue_size: rollouts that may wait for the learner (default: one per actor).
    """

    def __init__(self, env_factory: EnvFactory, policy: TorchPolicy, n_actors: int, envs_per_actor: int,
                 n_steps: int, seed: int, broadcast_interval: int = 1, queue_size: Optional[int] = None,
                 step_timeout_s: Optional[float] = None, restart_failed: bool = False, max_restarts: int = 3):
        context = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._ctx = multiprocessing.get_context(context)
        self.policy = policy
        self.n_actors, self.envs_per_actor, self.n_steps, self.seed = n_actors, envs_per_actor, n_steps, seed
        self.broadcast_interval = broadcast_interval
        self.rollout_timeout = None if step_timeout_s is None else step_timeout_s * n_steps
        self._restarts = RestartBudget(restart_failed, max_restarts)
        self.env_steps = 0
        self.versions = PolicyVersions()
        self._env_factory = CloudpickleWrapper(env_factory)
        self._shared = copy.deepcopy(policy).cpu().share_memory()
        self._shared_state = self._shared.state_dict()  # views of the shared tensors
        self._version = self._ctx.Value("q", 0, lock=False)
        self._sequence = self._ctx.Value("q", 0, lock=False)  # odd while the learner writes the weights
        self._queue = self._ctx.Queue(maxsize=queue_size or n_actors)
        # a lock-free flag, not an Event: an Event's reads take its lock, and an actor SIGKILLed inside one left
        # close() waiting forever to set it (CI: Lock(owner=SomeOtherProcess) in Event.set)
        self._stop = self._ctx.Value("b", 0, lock=False)
        self._episode_parts: List[Dict[str, float]] = []
        self.processes: List[Any] = [None] * n_actors
        self._last_seen = [time.monotonic()] * n_actors
        for index in range(n_actors):
            self._start(index)

    @property
    def restarts(self) -> int:
        """Actors replaced so far."""
        return self._restarts.restarts

    def _start(self, index: int) -> None:
        torch_seed = int(np.random.SeedSequence([self.seed, index, self.restarts]).generate_state(1)[0])
        process = self._ctx.Process(
            target=_actor_main, name=f"maze-actor-{index}", daemon=True,
            args=(index, self._env_factory, self._shared, self.envs_per_actor, self.n_steps,
                  self.seed + index * self.envs_per_actor, torch_seed, self._version, self._sequence, self._queue,
                  self._stop))
        process.start()
        self.processes[index] = process
        self._last_seen[index] = time.monotonic()

    def _publish(self) -> None:
        """Copies the learner's weights into shared memory, tagged with its version."""
        self._sequence.value += 1
        with torch.no_grad():
            for name, tensor in self.policy.state_dict().items():
                self._shared_state[name].copy_(tensor)
        self._version.value = self.versions.updates
        self._sequence.value += 1

    def collect(self) -> RolloutBatch:
        self._check_alive()
        if self.versions.updates % self.broadcast_interval == 0:
            self._publish()
        rollouts = [self._receive() for _ in range(self.n_actors)]
        self.versions.consumed([rollout.version for rollout in rollouts])
        self._episode_parts += [rollout.episode_stats for rollout in rollouts]
        batch = RolloutBatch.concat_envs([rollout.batch.apply(torch.from_numpy) for rollout in rollouts])
        self.env_steps += batch.env_steps
        return batch

    def _receive(self) -> Rollout:
        """The next rollout to arrive; watches the actors while it waits."""
        while True:
            try:
                message = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                self._check_actors()
                continue
            self._last_seen[message.actor] = time.monotonic()
            if isinstance(message, ActorFailure):
                self._failed(message.actor, EnvError(f"actor {message.actor} failed:\n{message.error.rstrip()}"))
                continue
            return message

    def _check_alive(self) -> None:
        """A dead actor has failed (checked every update: the others may keep the queue full without it)."""
        for index, process in enumerate(self.processes):
            if not process.is_alive():
                process.join(timeout=1.0)
                self._failed(index, EnvWorkerDied(f"actor {index} (pid {process.pid}) died with exit code "
                                                  f"{process.exitcode}"))

    def _check_actors(self) -> None:
        """With nothing queued, every actor is acting: a dead one, or one silent for too long, has failed."""
        self._check_alive()
        for index, process in enumerate(self.processes):
            if (self.rollout_timeout is not None
                    and time.monotonic() - self._last_seen[index] > self.rollout_timeout):
                process.kill()
                process.join(timeout=CLOSE_TIMEOUT_S)
                self._failed(index, EnvWorkerTimeout(
                    f"actor {index} (pid {process.pid}) delivered no rollout of {self.n_steps} steps within "
                    f"{self.rollout_timeout:g} s (runner.step_timeout_s per step); it was killed"))

    def _failed(self, index: int, failure: Exception) -> None:
        """Replaces a failed actor (``restart_failed``, restarts left) or raises ``failure``."""
        self._restarts.spend(failure)
        if self.processes[index].is_alive():
            self.processes[index].kill()
        self.processes[index].join(timeout=CLOSE_TIMEOUT_S)
        self._start(index)

    def pop_episode_stats(self) -> Dict[str, float]:
        """Training episodes the consumed rollouts finished, the policy lag, and the actor restarts so far."""
        parts, self._episode_parts = self._episode_parts, []
        return {**merge_reduced_stats(parts, "train"), **self.versions.pop_stats(),
                "time/worker_restarts": float(self.restarts)}

    def close(self) -> None:
        """Stops the actors (each finishes at most its current rollout), then kills what is left."""
        self._stop.value = 1
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        for process in self.processes:
            if process is not None:
                process.join(timeout=max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(timeout=1.0)
        self._queue.cancel_join_thread()
        self._queue.close()
