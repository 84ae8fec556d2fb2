"""ES generations on worker processes that play whole episodes themselves (``runner=local``).

Each worker owns a copy of the policy and the noise table (rebuilt from its seed). A generation's antithetic
pairs are cut into chunks; a worker is sent a chunk's noise offsets, reads the current weights from shared
memory, builds those members and plays them with the same :class:`~maze_cli.train.population.PopulationCollector`
as the in-process path (acting vectorised over the chunk's members), and sends back one return and length per
member; it is then sent the next chunk. No observation or action crosses a process boundary while episodes run,
and a worker that drew long episodes does not hold up the others: they take the remaining chunks.

Member ``j``'s env is reset with the seed it gets under ``runner=dev`` (``seed + j``), so with deterministic
actions both paths give identical returns; gymnasium's natively vectorised envs (CartPole's), which seed all
their envs from one seed, are the exception.
"""
from __future__ import annotations

import copy
import multiprocessing
import signal
import time
import traceback
from collections import deque
from multiprocessing.connection import wait
from typing import Any, Deque, Dict, List, Optional, Tuple

import numpy as np
import torch
from gymnasium.vector.utils import CloudpickleWrapper

from maze_cli.algorithms.es_config import ESAlgorithmConfig
from maze_cli.algorithms.es import ES, Population, PopulationBatch
from maze_cli.envs.errors import EnvError, EnvWorkerDied, EnvWorkerTimeout
from maze_cli.envs.log_stats import merge_reduced_stats
from maze_cli.envs.make import make_vector_env
from maze_cli.envs.vector import EnvFactory, VectorEnv, VectorStep
from maze_cli.train.evaluator import EVALUATION_SEED_STRIDE
from maze_cli.train.population import PopulationCollector
from maze_cli.train.restarts import RestartBudget

POLL_S = 0.1
CLOSE_TIMEOUT_S = 5.0
CHUNKS_PER_WORKER = 8
"""A generation is cut into about this many chunks per worker: small enough to even out episode lengths,
large enough that acting stays batched over several members."""


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


class ChunkPlayer:
    """Plays chunks of generations with its own policy copy, noise table and envs (one set per chunk size):
    what a population worker runs, in a worker process of ``runner=local`` or a Ray actor of ``runner=ray``.

    :param env_factory: the run's env factory.
    :param config: the ES settings (the noise table is rebuilt from ``noise_seed``).
    :param policy: a private copy of the policy; :meth:`play` is given the weights to load into it.
    :param steps: a shared counter of env steps (the learner's sign that the worker is not hung), or ``None``.
    """

    def __init__(self, env_factory: EnvFactory, config: ESAlgorithmConfig, policy: Any, steps: Any = None):
        self.env_factory, self.steps = env_factory, steps
        self.es = ES(config, policy)
        self.policy = policy
        self._collectors: Dict[int, Tuple[_AssignedMembers, PopulationCollector]] = {}

    def play(self, weights: Dict[str, torch.Tensor], offsets: np.ndarray, reset_seed: Optional[int]) -> Tuple:
        """``(returns, lengths, observations seen as numpy, episode statistics)`` of the members at ``offsets``."""
        if len(offsets) not in self._collectors:
            assigned = _AssignedMembers(self.es, len(offsets))
            vector_env = make_vector_env(self.env_factory, 2 * len(offsets), "sequential")
            if self.steps is not None:
                vector_env = _CountingVectorEnv(vector_env, self.steps)
            self._collectors[len(offsets)] = assigned, PopulationCollector(vector_env, assigned, None)
        assigned, collector = self._collectors[len(offsets)]
        self.policy.load_state_dict(weights)
        assigned.offsets = offsets
        batch = collector.collect(reset_seed)
        seen = [({key: value.numpy() for key, value in obs.items()}, mask.numpy())
                for obs, mask in batch.observations]
        return batch.returns, batch.lengths, seen, collector.pop_episode_stats()

    def close(self) -> None:
        for _, collector in self._collectors.values():
            collector.close()


def _worker_main(env_factory: CloudpickleWrapper, config: ESAlgorithmConfig, shared: Any, conn: Any,
                 steps: Any) -> None:
    """A population worker: plays the chunks it is sent, ``(offsets, reset seed)``, until sent ``None``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the learner's to handle
    torch.set_num_threads(1)
    player = None
    try:
        player = ChunkPlayer(env_factory.fn, config, copy.deepcopy(shared), steps)  # private weights
        while True:
            try:
                task = conn.recv()
            except EOFError:  # the learner is gone
                break
            if task is None:
                break
            # the learner does not write the shared weights during a generation
            conn.send((True, player.play(shared.state_dict(), *task)))
    except Exception:  # noqa: BLE001 - reported to the learner, which names this worker
        conn.send((False, traceback.format_exc()))
    finally:
        if player is not None:
            player.close()


def chunk_seed(seed: Optional[int], generation: int, pairs: np.ndarray) -> Optional[int]:
    """The reset seed of a chunk's envs: its first member's env seed under ``runner=dev``."""
    return None if seed is None else seed + EVALUATION_SEED_STRIDE * generation + 2 * int(pairs[0])


def split_pairs(n_pairs: int, n_workers: int) -> List[np.ndarray]:
    """A generation's pairs in about ``CHUNKS_PER_WORKER`` chunks per worker."""
    return list(np.array_split(np.arange(n_pairs), min(n_pairs, n_workers * CHUNKS_PER_WORKER)))


def join_chunks(offsets: np.ndarray, parts: List[Tuple]) -> Tuple[PopulationBatch, List[Dict[str, float]]]:
    """The generation's batch from its chunks' results (in chunk order), and their episode statistics."""
    returns = np.concatenate([part[0] for part in parts])
    lengths = np.concatenate([part[1] for part in parts])
    seen = [({key: torch.from_numpy(value) for key, value in obs.items()}, torch.from_numpy(mask))
            for part in parts for obs, mask in part[2]]
    return PopulationBatch(offsets, returns, lengths, seen), [part[3] for part in parts]


class PopulationPoolCollector:
    """The learner's side: hands each generation's chunks to the workers as they become free, gathers the
    members' returns in member order.

    A worker that dies, raises, or takes no env step for ``step_timeout_s`` seconds is named and stops the
    run, or (``restart_failed``) is replaced and plays its chunk again.

    :param algorithm: the :class:`~maze_cli.algorithms.es.ES` whose generations to play.
    :param n_workers: worker processes (at most one per pair).
    :param seed: seeds the envs' resets as :class:`PopulationCollector` does.
    """

    def __init__(self, env_factory: EnvFactory, algorithm: ES, n_workers: int, seed: Optional[int],
                 step_timeout_s: Optional[float] = None, restart_failed: bool = False, max_restarts: int = 3):
        context = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._ctx = multiprocessing.get_context(context)
        self.algorithm, self.seed = algorithm, seed
        self.step_timeout_s = step_timeout_s
        self._restarts = RestartBudget(restart_failed, max_restarts)
        self.env_steps = 0
        n_workers = min(n_workers, algorithm.config.n_pairs)
        self._chunks = split_pairs(algorithm.config.n_pairs, n_workers)
        self._env_factory = CloudpickleWrapper(env_factory)
        self._shared = copy.deepcopy(algorithm.policy).cpu().share_memory()
        self._shared_state = self._shared.state_dict()
        self._generation = 0
        self._episode_parts: List[Dict[str, float]] = []
        self._workers: List[Tuple[Any, Any, Any]] = [None] * n_workers  # (process, pipe, step counter)
        for index in range(n_workers):
            self._start(index)

    @property
    def restarts(self) -> int:
        """Workers replaced so far."""
        return self._restarts.restarts

    def _start(self, index: int) -> None:
        parent, child = self._ctx.Pipe()
        steps = self._ctx.Value("q", 0, lock=False)
        process = self._ctx.Process(target=_worker_main, name=f"maze-population-worker-{index}", daemon=True,
                                    args=(self._env_factory, self.algorithm.config, self._shared, child, steps))
        process.start()
        child.close()
        self._workers[index] = (process, parent, steps)

    def collect(self) -> PopulationBatch:
        offsets = self.algorithm.draw_offsets()
        with torch.no_grad():
            for name, tensor in self.algorithm.policy.state_dict().items():
                self._shared_state[name].copy_(tensor)
        parts = self._play(offsets)
        self._generation += 1
        batch, episode_parts = join_chunks(offsets, [parts[chunk] for chunk in range(len(self._chunks))])
        self._episode_parts += episode_parts
        self.env_steps += int(batch.lengths.sum())
        return batch

    def _play(self, offsets: np.ndarray) -> Dict[int, Any]:
        """Every chunk's result, handing the next chunk to whichever worker finishes first."""
        waiting: Deque[int] = deque(range(len(self._chunks)))
        busy: Dict[int, Tuple[int, int, float]] = {}  # worker -> (chunk, its step count, when it last changed)
        parts: Dict[int, Any] = {}

        def hand_out(worker: int, chunk: int) -> None:
            pairs = self._chunks[chunk]
            self._workers[worker][1].send((offsets[pairs], chunk_seed(self.seed, self._generation, pairs)))
            busy[worker] = (chunk, self._workers[worker][2].value, time.monotonic())

        for worker in range(len(self._workers)):
            if waiting:
                hand_out(worker, waiting.popleft())
        while busy:
            pipes = {self._workers[worker][1]: worker for worker in busy}
            for pipe in wait(list(pipes), timeout=POLL_S):
                worker = pipes[pipe]
                chunk = busy.pop(worker)[0]
                try:
                    ok, payload = pipe.recv()
                except (EOFError, ConnectionError):
                    ok, payload = False, self._died(worker)
                if ok:
                    parts[chunk] = payload
                    if waiting:
                        hand_out(worker, waiting.popleft())
                    continue
                failure = payload if isinstance(payload, Exception) else EnvError(
                    f"population worker {worker} failed:\n{payload.rstrip()}")
                self._failed(worker, failure)
                hand_out(worker, chunk)
            for worker, (chunk, last_steps, last_change) in list(busy.items()):
                self._check(worker, chunk, last_steps, last_change, busy, hand_out)
        return parts

    def _check(self, worker: int, chunk: int, last_steps: int, last_change: float, busy: Dict[int, Any],
               hand_out: Any) -> None:
        """A busy worker must be alive and keep stepping its envs; a failed one is replaced (or raises)."""
        process, _, steps = self._workers[worker]
        if not process.is_alive():
            failure: Exception = self._died(worker)
        elif steps.value != last_steps:
            busy[worker] = (chunk, steps.value, time.monotonic())
            return
        elif self.step_timeout_s is not None and time.monotonic() - last_change > self.step_timeout_s:
            process.kill()
            process.join(timeout=CLOSE_TIMEOUT_S)
            failure = EnvWorkerTimeout(f"population worker {worker} (pid {process.pid}) took no env step for "
                                       f"{self.step_timeout_s:g} s (runner.step_timeout_s); it was killed")
        else:
            return
        busy.pop(worker)
        self._failed(worker, failure)
        hand_out(worker, chunk)

    def _died(self, index: int) -> EnvWorkerDied:
        process = self._workers[index][0]
        process.join(timeout=1.0)
        return EnvWorkerDied(f"population worker {index} (pid {process.pid}) died with exit code {process.exitcode}")

    def _failed(self, index: int, failure: Exception) -> None:
        """Replaces a failed worker (``restart_failed``, restarts left) or raises ``failure``."""
        self._restarts.spend(failure)
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
        for _, pipe, _ in self._workers:
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
