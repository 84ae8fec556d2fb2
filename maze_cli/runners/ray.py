"""Runner on Ray: rollout workers are Ray actors (on this machine or a cluster); the learner stays here.

Every update the learner puts the current policy and critic weights into Ray's object store once,
every actor loads them, collects ``n_rollout_steps`` on its own envs and returns its rollout; the
learner joins the rollouts along the env axis. Collection is synchronous, so A2C and PPO stay
on-policy. Ray is imported only when this runner is used (``pip install maze_cli[ray]``).
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch

from maze_cli.envs.errors import EnvError, EnvWorkerDied, EnvWorkerTimeout
from maze_cli.envs.log_stats import merge_reduced_stats
from maze_cli.envs.vector import EnvFactory, VectorEnv
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy
from maze_cli.runners.base import Collector, Runner
from maze_cli.runners.local import check_worker_failure_settings, evaluation_worker_pool
from maze_cli.core.errors import POSITIVE_INT, ConfigError, check
from maze_cli.train.collectors import make_rollout_collector
from maze_cli.train.batch import RolloutBatch

logger = logging.getLogger("maze_cli")

STARTUP_TIMEOUT_S = 300.0
"""How long actors may take to start (and wait for free CPUs) before the run gives up."""
RESTART_POLL_S = 0.2
CLOSE_TIMEOUT_S = 10.0


def import_ray() -> Any:
    """The ``ray`` module, or one clear line on how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError('runner=ray needs Ray, which is not installed: pip install "maze_cli[ray]"') from None
    return ray


def worker_seeds(seed: int, index: int, envs_per_worker: int) -> tuple[int, int]:
    """(env seed, torch seed) of rollout worker ``index``, derived from the run seed and distinct per worker.

    Env seeds continue each other (worker ``i``'s envs get ``seed + i * envs_per_worker + j``), so the
    envs see the episodes that the same number of envs would see under ``runner=local``.
    """
    torch_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
    return seed + index * envs_per_worker, torch_seed


class RolloutWorker:
    """One Ray actor: its own envs and its own policy and critic copies.

    :param env_factory: picklable zero-argument env factory (the one all runners use).
    :param policy: a copy of the learner's policy; its weights are replaced at every :meth:`collect`.
    :param critic: a copy of the learner's critic (``None``: the rollouts record no values, e.g. IMPALA's).
    :param n_envs: envs this worker steps (sequentially, in its own process).
    :param n_steps: steps per env and rollout.
    :param env_seed: seed of the envs' first reset.
    :param torch_seed: seed of action sampling.
    :param torch_threads: torch intra-op threads in this worker.
    :param store_next_observations: the rollouts record each step's next observation.
    """

    def __init__(self, env_factory: EnvFactory, policy: TorchPolicy, critic: Optional[TorchStateCritic],
                 n_envs: int, n_steps: int, env_seed: int, torch_seed: int, torch_threads: int,
                 store_next_observations: bool = False):
        torch.set_num_threads(torch_threads)
        torch.manual_seed(torch_seed)
        if policy.exploration_noise is not None:
            policy.exploration_noise.reseed(torch_seed)
        self.policy, self.critic = policy, critic
        # ordinary or structured envs alike: the same choice of collector as the local runners make
        self.collector = make_rollout_collector(env_factory, n_envs, "sequential", policy, critic, n_steps, env_seed,
                                                store_next_observations=store_next_observations)

    def collect(self, weights: Dict[str, Any]) -> RolloutBatch:
        """A rollout acted with ``weights`` (``{"policy": state_dict, "critic": state_dict}``, critic optional)."""
        self.policy.load_state_dict(weights["policy"])
        if self.critic is not None:
            self.critic.load_state_dict(weights["critic"])
        return self.collector.collect()

    def rollout(self, weights: Dict[str, Any]) -> Tuple[int, RolloutBatch, Dict[str, float]]:
        """For asynchronous learners: ``(weights' version, rollout, its finished episodes' statistics)``."""
        batch = self.collect(weights)
        return weights["version"], batch, self.collector.episodes.pop("train")

    def pop_episode_stats(self) -> Dict[str, float]:
        return self.collector.pop_episode_stats()

    def process(self) -> Tuple[int, str]:
        """(pid, Ray worker id) of the process this actor currently runs in; changes when Ray restarts it."""
        return os.getpid(), import_ray().get_runtime_context().get_worker_id()

    def close(self) -> None:
        self.collector.close()


class RayCollector:
    """The learner's side: starts the actors, broadcasts weights, gathers and joins their rollouts.

    A failed actor (its process died, its env raised, or it did not deliver its rollout within
    ``step_timeout_s`` per step) is restarted by Ray and its rollout is requested once more; a second
    failure stops the run with an error naming the worker. With ``on_worker_failure=stop`` the first
    failure stops the run.
    """

    def __init__(self, runner: "RayRunner", env_factory: EnvFactory, policy: TorchPolicy,
                 critic: Optional[TorchStateCritic], n_steps: int, seed: int):
        self.ray = runner.connect()
        self.policy, self.critic = policy, critic
        self.n_envs = runner.n_envs
        self.n_steps = n_steps
        self.env_steps = 0
        self.restarts = 0
        self.restart_failed = runner.on_worker_failure == "restart"
        self.timeout = None if runner.step_timeout_s is None else runner.step_timeout_s * n_steps
        actor = self.ray.remote(RolloutWorker).options(
            num_cpus=runner.num_cpus_per_worker, max_restarts=runner.max_worker_restarts, max_task_retries=0)
        self.workers = [actor.remote(env_factory, policy, critic, runner.envs_per_worker, n_steps,
                                     *worker_seeds(seed, index, runner.envs_per_worker), runner.torch_threads,
                                     store_next_observations=critic is None)
                        for index in range(runner.num_workers)]
        self._wait_until_started(runner)

    def _wait_until_started(self, runner: "RayRunner") -> None:
        refs = [worker.process.remote() for worker in self.workers]
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=STARTUP_TIMEOUT_S)
        if len(ready) < len(refs):
            self.close()
            cpus = self.ray.cluster_resources().get("CPU", 0)
            raise RuntimeError(f"runner=ray: {runner.num_workers} rollout workers with {runner.num_cpus_per_worker} "
                               f"CPUs each did not start within {STARTUP_TIMEOUT_S:.0f} s; the Ray cluster has "
                               f"{cpus:g} CPUs (lower runner.num_workers or runner.num_cpus_per_worker)")
        for index, ref in enumerate(refs):
            try:
                self.ray.get(ref)
            except self.ray.exceptions.RayError as err:
                self.close()
                raise EnvError(f"ray rollout worker {index} could not be started: {_describe(err)}") from None

    def worker_pids(self) -> List[int]:
        """Process ids of the actors (monitoring, and fault injection in tests)."""
        return [pid for pid, _ in self.ray.get([worker.process.remote() for worker in self.workers])]

    def collect(self) -> RolloutBatch:
        weights = self.ray.put({"policy": self.policy.state_dict(), "critic": self.critic.state_dict()})
        refs = [self._submit(index, weights) for index in range(len(self.workers))]
        batches = [self._rollout(index, ref, weights) for index, ref in enumerate(refs)]
        batch = type(batches[0]).concat_envs(batches)
        self.env_steps += batch.env_steps
        return batch

    def _rollout(self, index: int, ref: Any, weights: Any) -> RolloutBatch:
        """The rollout of worker ``index``; on failure the worker is restarted and asked once more."""
        errors = self.ray.exceptions
        try:
            return self.ray.get(ref, timeout=self.timeout)
        except errors.GetTimeoutError:
            failure = (f"ray rollout worker {index} did not deliver its rollout of {self.n_steps} steps within "
                       f"{self.timeout:g} s (runner.step_timeout_s per step)")
            self.ray.kill(self.workers[index], no_restart=not self.restart_failed)
            failed_process = None  # killed: any process that answers now is a new one
            if not self.restart_failed:
                raise EnvWorkerTimeout(f"{failure}; it was killed") from None
        except (errors.RayActorError, errors.RayTaskError) as err:
            failure = f"ray rollout worker {index} failed ({_describe(err)})"
            if not self.restart_failed:
                raise (EnvError if isinstance(err, errors.RayTaskError) else EnvWorkerDied)(failure) from None
            failed_process = None  # the process died: any process that answers now is a new one
            if isinstance(err, errors.RayTaskError):  # the env raised in a live process: restart that
                failed_process = self._process_of(index)
                self.ray.kill(self.workers[index], no_restart=False)
        logger.warning(f"{failure}; restarting it and retrying this rollout once")
        self.restarts += 1
        self._await_restart(index, failed_process)
        try:
            return self.ray.get(self._submit(index, weights), timeout=self.timeout)
        except errors.GetTimeoutError:
            self.ray.kill(self.workers[index], no_restart=True)
            raise EnvWorkerTimeout(f"ray rollout worker {index} did not deliver its rollout within {self.timeout:g} s "
                                   f"again after a restart; it was killed") from None
        except errors.RayTaskError as err:
            cause = _cause(err)
            raise EnvError(f"ray rollout worker {index} failed again after a restart: {_describe(cause)}") from cause
        except errors.RayActorError as err:
            raise EnvWorkerDied(f"ray rollout worker {index} died again after a restart: {_describe(err)}") from None

    def _submit(self, index: int, weights: Any) -> Any:
        """Asks worker ``index`` for a rollout acted with ``weights``; the reference to its answer."""
        return self.workers[index].collect.remote(weights)

    def _process_of(self, index: int) -> Optional[Tuple[int, str]]:
        """The current process of worker ``index`` (None if it is not running)."""
        try:
            return self.ray.get(self.workers[index].process.remote())
        except self.ray.exceptions.RayActorError:
            return None

    def _await_restart(self, index: int, failed_process: Optional[Tuple[int, str]]) -> None:
        """Blocks until worker ``index`` answers from a process other than ``failed_process``;
        raises if Ray gave up restarting it."""
        errors = self.ray.exceptions
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                process = self.ray.get(self.workers[index].process.remote(), timeout=STARTUP_TIMEOUT_S)
                if process != failed_process:
                    return
            except errors.ActorUnavailableError:
                pass
            except errors.RayActorError as err:
                raise EnvWorkerDied(f"ray rollout worker {index} died and was not restarted (runner."
                                    f"max_worker_restarts exhausted?): {_describe(err)}") from None
            time.sleep(RESTART_POLL_S)
        raise EnvWorkerDied(f"ray rollout worker {index} was not restarted within {STARTUP_TIMEOUT_S:.0f} s")

    def pop_episode_stats(self) -> Dict[str, float]:
        """Training episodes finished on all workers since the last call (a restarted worker's are lost)."""
        parts = []
        for worker in self.workers:
            try:
                parts.append(self.ray.get(worker.pop_episode_stats.remote()))
            except (self.ray.exceptions.RayActorError, self.ray.exceptions.RayTaskError) as err:
                logger.warning(f"episode statistics of a ray rollout worker are lost: {_describe(err)}")
        return {**merge_reduced_stats(parts, "train"), "time/worker_restarts": float(self.restarts)}

    def close(self) -> None:
        """Lets every live actor close its envs (briefly), then ends the actors."""
        if self.workers:
            self.ray.wait([worker.close.remote() for worker in self.workers], num_returns=len(self.workers),
                          timeout=CLOSE_TIMEOUT_S)
        for worker in self.workers:
            self.ray.kill(worker)
        self.workers = []


@contextlib.contextmanager
def _keep_sigterm_handler() -> Iterator[None]:
    """``ray.init`` replaces the driver's SIGTERM handler by one that exits with code 15; keep maze_cli's
    (which saves a checkpoint during training and exits with 143)."""
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main_thread else None
    try:
        yield
    finally:
        if main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _cause(err: Exception) -> Exception:
    """The exception raised inside a Ray task (Ray wraps it in a ``RayTaskError``)."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, Exception) else err


def _describe(err: Exception) -> str:
    text = str(_cause(err)).strip().splitlines()
    return f"{type(_cause(err)).__name__}: {text[-1] if text else ''}"


@dataclass
class RayRunner(Runner):
    """Rollout workers as Ray actors, each with its own envs and policy copy; the learner stays here.

    :param address: Ray cluster to connect to (``"auto"``, ``"ray://host:10001"``); ``None`` uses the
        ``RAY_ADDRESS`` environment variable if set, else starts a local Ray instance with all CPUs
        of this machine. An already initialised Ray (e.g. inside a Ray task) is reused.
    :param num_workers: rollout worker actors.
    :param envs_per_worker: envs each actor steps.
    :param num_cpus_per_worker: CPUs Ray reserves for each actor (fractions allowed).
    :param max_worker_restarts: how often Ray may restart each actor after its process died.
    :param step_timeout_s: seconds one env step may take; a rollout not delivered within this times
        ``n_rollout_steps`` counts as a hung worker (``None``: no limit). Evaluation runs in local
        worker processes under the same per-step limit.
    :param on_worker_failure: ``restart`` (Ray restarts the actor and the rollout is retried once) or
        ``stop`` (the run stops at the first failure, naming the worker).
    :param runtime_env: Ray runtime environment of the actors (e.g. ``{"pip": [...]}`` on a cluster
        where maze_cli or the env's package is not installed).
    """

    address: Optional[str] = None
    num_workers: int = 2
    envs_per_worker: int = 1
    num_cpus_per_worker: float = 1.0
    max_worker_restarts: int = 3
    runtime_env: Optional[Dict[str, Any]] = None
    step_timeout_s: Optional[float] = 60.0
    on_worker_failure: str = "restart"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_worker_failure_settings(self)
        check(POSITIVE_INT(self.num_workers), "runner.num_workers", self.num_workers, "an integer >= 1")
        check(POSITIVE_INT(self.envs_per_worker), "runner.envs_per_worker", self.envs_per_worker, "an integer >= 1")
        check(isinstance(self.num_cpus_per_worker, (int, float)) and self.num_cpus_per_worker > 0,
              "runner.num_cpus_per_worker", self.num_cpus_per_worker, "a number of CPUs > 0")
        import_ray()

    @property
    def n_envs(self) -> int:
        return self.num_workers * self.envs_per_worker

    def connect(self) -> Any:
        """The ``ray`` module, initialised: the running session, the cluster at ``address`` (or at the
        ``RAY_ADDRESS`` environment variable), or else a new local instance using all CPUs."""
        ray = import_ray()
        if ray.is_initialized():
            return ray
        with _keep_sigterm_handler():
            self._init(ray)
        return ray

    def _init(self, ray: Any) -> None:
        address = self.address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, runtime_env=self.runtime_env)
            return
        cpus = os.cpu_count() or 1
        check(self.num_workers * self.num_cpus_per_worker <= cpus, "runner.num_workers", self.num_workers,
              f"at most {int(cpus // self.num_cpus_per_worker)} workers with runner.num_cpus_per_worker="
              f"{self.num_cpus_per_worker} on this machine's {cpus} CPUs (or a cluster in runner.address)")
        ray.init(num_cpus=cpus, runtime_env=self.runtime_env)

    def make_evaluation_env(self, env_factory, n_envs, probe_env=None) -> VectorEnv:
        return evaluation_worker_pool(env_factory, n_envs, self.num_workers, {
            "step_timeout_s": self.step_timeout_s, "restart_failed": self.on_worker_failure == "restart",
            "max_restarts": self.max_worker_restarts})

    def make_population_collector(self, env_factory, algorithm, seed, probe_env=None) -> Collector:
        """Ray actors that each play whole episodes of chunks of every generation; see
        :class:`~maze_cli.runners.ray_population.RayPopulationCollector`."""
        from maze_cli.runners.ray_population import RayPopulationCollector

        return RayPopulationCollector(self, env_factory, algorithm, seed)

    def make_async_collector(self, env_factory, policy, n_steps, seed, probe_env=None, broadcast_interval=1,
                             queue_size=None) -> Collector:
        """Every actor keeps one rollout in flight (so ``queue_size`` is one per worker, whatever is asked); see
        :class:`~maze_cli.runners.ray_async.AsyncRayCollector`."""
        from maze_cli.runners.ray_async import AsyncRayCollector

        return AsyncRayCollector(self, env_factory, policy, n_steps, seed, broadcast_interval)

    def make_collector(self, env_factory, policy, critic, n_steps, seed, probe_env=None,
                       store_next_observations=False) -> Collector:
        if store_next_observations or critic is None:
            raise ConfigError("runner=ray collects on-policy rollouts (its workers record state values); "
                              "off-policy algorithms run on runner=dev or runner=local")
        return RayCollector(self, env_factory, policy, critic, n_steps, seed)
