"""ES generations on worker processes that play whole episodes themselves (``runner=local``).

Each worker owns the envs for its share of the antithetic pairs, a copy of the policy and the noise
table (rebuilt from its seed). Per generation it is sent only the noise offsets of its pairs; it reads the
current weights from shared memory, builds its members and plays them with the same
:class:`~maze_cli.train.population.PopulationCollector` as the in-process path (acting vectorised over its
members), and sends back one return and length per member. No observation or action crosses a process
boundary while episodes run, so generations scale with the workers.

Member ``j``'s env is reset with the seed it gets under ``runner=dev`` (``seed + j``), so with deterministic
actions both paths give identical returns; gymnasium's natively vectorised envs (CartPole's), which seed all
their envs from one seed, are the exception.
"""
from __future__ import annotations

import copy
import logging
import multiprocessing
import signal
import time
import traceback
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from gymnasium.vector.utils import CloudpickleWrapper

from maze_cli.algorithms.config import ESAlgorithmConfig
from maze_cli.algorithms.es import ES, Population, PopulationBatch
from maze_cli.envs.errors import EnvError, EnvWorkerDied, EnvWorkerTimeout
from maze_cli.envs.log_stats import merge_reduced_stats
from maze_cli.envs.make import make_vector_env
from maze_cli.envs.vector import EnvFactory, VectorEnv, VectorStep
from maze_cli.train.evaluator import EVALUATION_SEED_STRIDE
from maze_cli.train.population import PopulationCollector

logger = logging.getLogger("maze_cli")

POLL_S = 0.1
CLOSE_TIMEOUT_S = 5.0


class _CountingVectorEnv:
    """A vector env that counts its steps in shared memory: the learner's sign that a worker is not hung."""

    def __init__(self, vector_env: VectorEnv, steps: Any):
        self._env, self._steps = vector_env, steps

    def step(self, actions: Dict[int, Any], active: Optional[np.ndarray] = None) -> VectorStep:
        self._steps.value += 1
        return self._env.step(actions, active)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


class _AssignedMembers:
    """What a worker's :class:`PopulationCollector` plays: the members of the offsets it was last sent."""

    def __init__(self, es: ES, n_pairs: int):
        self.es, self.policy, self.config = es, es.policy, es.config
        self.population_size = 2 * n_pairs
        self.offsets = np.zeros(n_pairs, dtype=np.int64)

    def population(self) -> Population:
        return self.es.members(self.offsets)


def _worker_main(index: int, env_factory: CloudpickleWrapper, config: ESAlgorithmConfig, n_pairs: int,
                 seed: Optional[int], shared: Any, conn: Any, steps: Any) -> None:
    """A population worker: plays its pairs' members each generation until sent ``None``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the learner's to handle
    torch.set_num_threads(1)
    collector = None
    try:
        es = ES(config, copy.deepcopy(shared))  # private weights; the noise table rebuilt from its seed
        assigned = _AssignedMembers(es, n_pairs)
        vector_env = make_vector_env(env_factory.fn, 2 * n_pairs, "sequential")
        collector = PopulationCollector(_CountingVectorEnv(vector_env, steps), assigned, seed)
        while True:
            offsets = conn.recv()
            if offsets is None:
                break
            es.policy.load_state_dict(shared.state_dict())  # the learner does not write during a generation
            assigned.offsets = offsets
            batch = collector.collect()
            seen = [({key: value.numpy() for key, value in obs.items()}, mask.numpy())
                    for obs, mask in batch.observations]
            conn.send((True, (batch.returns, batch.lengths, seen, collector.pop_episode_stats())))
    except Exception:  # noqa: BLE001 - reported to the learner, which names this worker
        conn.send((False, traceback.format_exc()))
    finally:
        if collector is not None:
            collector.close()


class PopulationPoolCollector:
    """The learner's side: splits each generation's pairs over the workers, gathers the members' returns.

    A worker that dies, raises, or takes no env step for ``step_timeout_s`` seconds is named and stops the
    run, or (``restart_failed``) is replaced and plays its share of the generation again.

    :param algorithm: the :class:`~maze_cli.algorithms.es.ES` whose generations to play.
    :param n_workers: worker processes (at most one per pair).
    :param seed: seeds the envs' resets as :class:`PopulationCollector` does.
    """

    def __init__(self, env_factory: EnvFactory, algorithm: ES, n_workers: int, seed: Optional[int],
                 step_timeout_s: Optional[float] = None, restart_failed: bool = False, max_restarts: int = 3):
        context = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._ctx = multiprocessing.get_context(context)
        self.algorithm, self.seed = algorithm, seed
        self.step_timeout_s, self.restart_failed, self.max_restarts = step_timeout_s, restart_failed, max_restarts
        self.env_steps = 0
        self.restarts = 0
        self._pairs = [pairs for pairs in np.array_split(np.arange(algorithm.config.n_pairs), n_workers) if len(pairs)]
        self._env_factory = CloudpickleWrapper(env_factory)
        self._shared = copy.deepcopy(algorithm.policy).cpu().share_memory()
        self._shared_state = self._shared.state_dict()
        self._generation = 0
        self._episode_parts: List[Dict[str, float]] = []
        self._workers: List[Tuple[Any, Any, Any]] = [None] * len(self._pairs)  # (process, pipe, step counter)
        for index in range(len(self._pairs)):
            self._start(index)

    def _start(self, index: int) -> None:
        """Starts worker ``index`` with the envs of its pairs' members, seeded as the same members under dev."""
        pairs = self._pairs[index]
        # its first generation is the one being played now (after a restart, generation g > 0)
        seed = (None if self.seed is None
                else self.seed + 2 * int(pairs[0]) + EVALUATION_SEED_STRIDE * self._generation)
        parent, child = self._ctx.Pipe()
        steps = self._ctx.Value("q", 0, lock=False)
        process = self._ctx.Process(target=_worker_main, name=f"maze-population-worker-{index}", daemon=True,
                                    args=(index, self._env_factory, self.algorithm.config, len(pairs), seed,
                                          self._shared, child, steps))
        process.start()
        child.close()
        self._workers[index] = (process, parent, steps)

    def collect(self) -> PopulationBatch:
        offsets = self.algorithm.draw_offsets()
        with torch.no_grad():
            for name, tensor in self.algorithm.policy.state_dict().items():
                self._shared_state[name].copy_(tensor)
        for index, pairs in enumerate(self._pairs):
            self._workers[index][1].send(offsets[pairs])
        parts = [self._receive(index, offsets[pairs]) for index, pairs in enumerate(self._pairs)]
        self._generation += 1
        returns = np.concatenate([part[0] for part in parts])
        lengths = np.concatenate([part[1] for part in parts])
        seen = [({key: torch.from_numpy(value) for key, value in obs.items()}, torch.from_numpy(mask))
                for part in parts for obs, mask in part[2]]
        self._episode_parts += [part[3] for part in parts]
        self.env_steps += int(lengths.sum())
        return PopulationBatch(offsets, returns, lengths, seen)

    def _receive(self, index: int, offsets: np.ndarray) -> Any:
        """Worker ``index``'s result for this generation; a failed worker is replaced (and re-sent ``offsets``)
        or raises."""
        while True:
            try:
                ok, payload = self._wait(index)
            except (EnvWorkerDied, EnvError) as failure:
                self._failed(index, failure)
                self._workers[index][1].send(offsets)
                continue
            if ok:
                return payload
            self._failed(index, EnvError(f"population worker {index} failed:\n{payload.rstrip()}"))
            self._workers[index][1].send(offsets)

    def _wait(self, index: int) -> Tuple[bool, Any]:
        """The next message of worker ``index``, watching that it lives and keeps stepping its envs."""
        process, pipe, steps = self._workers[index]
        last_steps, last_change = steps.value, time.monotonic()
        while not pipe.poll(POLL_S):
            if not process.is_alive():
                raise self._died(index)
            if steps.value != last_steps:
                last_steps, last_change = steps.value, time.monotonic()
            elif self.step_timeout_s is not None and time.monotonic() - last_change > self.step_timeout_s:
                process.kill()
                process.join(timeout=CLOSE_TIMEOUT_S)
                raise EnvWorkerTimeout(f"population worker {index} (pid {process.pid}) took no env step for "
                                       f"{self.step_timeout_s:g} s (runner.step_timeout_s); it was killed")
        try:
            return pipe.recv()
        except (EOFError, ConnectionError):
            raise self._died(index) from None

    def _died(self, index: int) -> EnvWorkerDied:
        process = self._workers[index][0]
        process.join(timeout=1.0)
        return EnvWorkerDied(f"population worker {index} (pid {process.pid}) died with exit code {process.exitcode}")

    def _failed(self, index: int, failure: Exception) -> None:
        """Replaces a failed worker (``restart_failed``, restarts left) or raises ``failure``."""
        if not self.restart_failed or self.restarts >= self.max_restarts:
            used = (f" (runner.max_worker_restarts={self.max_restarts} restarts used)" if self.restart_failed else "")
            raise type(failure)(f"{failure}{used}; the run stops, its checkpoints are intact")
        self.restarts += 1
        logger.warning(f"{failure}; restarting it with fresh envs (restart {self.restarts} of {self.max_restarts})")
        process = self._workers[index][0]
        if process.is_alive():
            process.kill()
        process.join(timeout=CLOSE_TIMEOUT_S)
        self._workers[index][1].close()
        self._start(index)

    def pop_episode_stats(self) -> Dict[str, float]:
        """``train/...`` statistics of the last generations' episodes (perturbed weights), and the restarts."""
        parts, self._episode_parts = self._episode_parts, []
        return {**merge_reduced_stats(parts, "train"), "time/worker_restarts": float(self.restarts)}

    def close(self) -> None:
        for process, pipe, _ in self._workers:
            try:
                pipe.send(None)
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        for process, pipe, _ in self._workers:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(timeout=1.0)
            pipe.close()
