"""Runners on one machine: ``dev`` (everything in this process) and ``local`` (env worker processes)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from maze_cli.core.errors import POSITIVE_INT, check
from maze_cli.runners.base import Collector, Runner
from maze_cli.train.collectors import make_rollout_collector


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
    env per worker gives the most parallelism for expensive ones. A worker that dies stops the run
    with :class:`~maze_cli.envs.EnvWorkerDied` naming it.

    :param n_workers: worker processes; 0 means one per CPU core.
    :param envs_per_worker: envs stepped by each worker process.
    """

    n_workers: int = 0
    envs_per_worker: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
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

    def make_collector(self, env_factory, policy, critic, n_steps, seed, probe_env=None,
                       store_next_observations=False) -> Collector:
        return make_rollout_collector(env_factory, self.n_envs, "subprocess", policy, critic, n_steps, seed, probe_env,
                                      store_next_observations, envs_per_worker=self.envs_per_worker)
