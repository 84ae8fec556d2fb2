"""Runners on one machine: ``dev`` (everything in this process) and ``local`` (env worker processes)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional

from maze_cli.core.errors import POSITIVE_INT, check
from maze_cli.envs.make import make_vector_env
from maze_cli.envs.vector import VectorEnv
from maze_cli.runners.base import Collector, Runner
from maze_cli.train.actor_pool import ActorPoolCollector
from maze_cli.train.collectors import make_rollout_collector
from maze_cli.train.population_pool import PopulationPoolCollector


WORKER_FAILURE_POLICIES = ("stop", "restart")


@dataclass
class DevRunner(Runner):
    """All envs stepped sequentially in this process (gymnasium's vectorised env where one exists).

    :param n_envs: number of envs.
    """

    n_envs: int = 4  # type: ignore[assignment]

    def __post_init__(self) -> None:
        super().__post_init__()
        check(POSITIVE_INT(self.n_envs), "runner.n_envs", self.n_envs, "an integer >= 1")

    def make_collector(self, env_factory, policy, critic, n_steps, seed, probe_env=None,
                       store_next_observations=False) -> Collector:
        return make_rollout_collector(env_factory, self.n_envs, "sequential", policy, critic, n_steps, seed, probe_env,
                                      store_next_observations)


@dataclass
class LocalRunner(Runner):
    """Envs in worker processes, observations returned through shared memory; acting stays batched here.

    Each worker process steps its ``envs_per_worker`` envs one after the other, so one message per
    worker and step crosses a pipe: several envs per worker amortise that cost for cheap envs, one
    env per worker gives the most parallelism for expensive ones. A worker that dies, or hangs for
    ``step_timeout_s``, is named and either stops the run or is replaced (``on_worker_failure``).
    Evaluation episodes run in worker processes too, under the same timeout.

    :param n_workers: worker processes; 0 means one per CPU core.
    :param envs_per_worker: envs stepped by each worker process.
    :param step_timeout_s: seconds a worker may take for one step of its envs before it is killed
        (``None``: no limit); hung simulators otherwise hang the run.
    :param on_worker_failure: ``stop`` (the run stops naming the worker; checkpoints stay intact) or
        ``restart`` (a fresh worker with fresh envs replaces it; the interrupted episodes are dropped).
    :param max_worker_restarts: restarts allowed per collector (per ``train()`` call) with ``restart``.
    """

    n_workers: int = 0
    envs_per_worker: int = 1
    step_timeout_s: Optional[float] = 60.0
    on_worker_failure: str = "stop"
    max_worker_restarts: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_worker_failure_settings(self)
        check(isinstance(self.n_workers, int) and not isinstance(self.n_workers, bool) and self.n_workers >= 0,
              "runner.n_workers", self.n_workers, "an integer >= 0 (0 = one per core)")
        check(POSITIVE_INT(self.envs_per_worker), "runner.envs_per_worker", self.envs_per_worker, "an integer >= 1")

    @property
    def workers(self) -> int:
        """Worker processes actually started (``n_workers``, or the number of cores)."""
        return self.n_workers or os.cpu_count() or 1

    @property
    def n_envs(self) -> int:
        return self.workers * self.envs_per_worker

    def worker_options(self) -> Dict[str, Any]:
        return {"step_timeout_s": self.step_timeout_s, "restart_failed": self.on_worker_failure == "restart",
                "max_restarts": self.max_worker_restarts}

    def make_collector(self, env_factory, policy, critic, n_steps, seed, probe_env=None,
                       store_next_observations=False) -> Collector:
        return make_rollout_collector(env_factory, self.n_envs, "subprocess", policy, critic, n_steps, seed, probe_env,
                                      store_next_observations, envs_per_worker=self.envs_per_worker,
                                      **self.worker_options())

    def make_async_collector(self, env_factory, policy, n_steps, seed, probe_env=None, broadcast_interval=1,
                             queue_size=None) -> Collector:
        """Actor processes (one per worker, each with its own envs and policy copy) that act while the
        learner updates; see :class:`~maze_cli.train.actor_pool.ActorPoolCollector`."""
        options = self.worker_options()
        return ActorPoolCollector(env_factory, policy, self.workers, self.envs_per_worker, n_steps, seed,
                                  broadcast_interval, queue_size, options["step_timeout_s"],
                                  options["restart_failed"], options["max_restarts"])

    def make_population_collector(self, env_factory, algorithm, seed, probe_env=None) -> Collector:
        """Worker processes that each play whole episodes of their share of every generation; see
        :class:`~maze_cli.train.population_pool.PopulationPoolCollector`."""
        options = self.worker_options()
        return PopulationPoolCollector(env_factory, algorithm, self.workers, seed, options["step_timeout_s"],
                                       options["restart_failed"], options["max_restarts"])

    def make_evaluation_env(self, env_factory, n_envs, probe_env=None) -> VectorEnv:
        return evaluation_worker_pool(env_factory, n_envs, self.workers, self.worker_options())


def evaluation_worker_pool(env_factory: Any, n_envs: int, workers: int, options: Dict[str, Any]) -> VectorEnv:
    """Evaluation envs in ``workers`` worker processes (as many envs each as it takes), under the runner's
    step timeout, so a hung simulator cannot hang an evaluation either."""
    per_worker = -(-n_envs // min(workers, n_envs))
    return make_vector_env(env_factory, n_envs, "subprocess", envs_per_worker=per_worker, name="maze-eval-worker",
                           **options)


def check_worker_failure_settings(runner: Any) -> None:
    """Validates ``step_timeout_s``, ``on_worker_failure`` and ``max_worker_restarts`` of a runner."""
    timeout = runner.step_timeout_s
    check(timeout is None or (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0),
          "runner.step_timeout_s", timeout, "a number of seconds > 0, or null (no limit)")
    check(runner.on_worker_failure in WORKER_FAILURE_POLICIES, "runner.on_worker_failure", runner.on_worker_failure,
          f"one of {WORKER_FAILURE_POLICIES}")
    check(isinstance(runner.max_worker_restarts, int) and runner.max_worker_restarts >= 0,
          "runner.max_worker_restarts", runner.max_worker_restarts, "an integer >= 0")
