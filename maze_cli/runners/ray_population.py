"""ES generations on Ray actors (``runner=ray``): the chunked scheme of
:mod:`maze_cli.train.population_pool`, with Ray actors instead of worker processes.

Each actor holds a :class:`~maze_cli.train.population_pool.ChunkPlayer` (policy copy, noise table, envs). Per
generation the learner puts its weights into Ray's object store once; every request sends an actor that
reference and one chunk's noise offsets, and a free actor gets the next chunk. An actor whose process dies is
restarted by Ray and its chunk is played again (``on_worker_failure=restart``), or the run stops naming it.
Unlike ``runner=local``, a hung env is not detected here: an actor busy with a chunk cannot be asked whether
it still steps its envs, and a chunk's length is not known in advance.
"""
from __future__ import annotations

import logging
import os
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Tuple

import numpy as np
import torch

from maze_cli.algorithms.es_config import ESAlgorithmConfig
from maze_cli.algorithms.es import ES, PopulationBatch
from maze_cli.envs.errors import EnvError, EnvWorkerDied
from maze_cli.envs.log_stats import merge_reduced_stats
from maze_cli.envs.vector import EnvFactory
from maze_cli.train.population_pool import ChunkPlayer, chunk_seed, join_chunks, split_pairs

logger = logging.getLogger("maze_cli")


class RayChunkPlayer:
    """One Ray actor playing chunks of generations (see :class:`ChunkPlayer`)."""

    def __init__(self, env_factory: EnvFactory, config: ESAlgorithmConfig, policy: Any, torch_threads: int):
        torch.set_num_threads(torch_threads)
        self.player = ChunkPlayer(env_factory, config, policy)

    def play(self, weights: Dict[str, torch.Tensor], offsets: np.ndarray, reset_seed: Optional[int]) -> Tuple:
        return self.player.play(weights, offsets, reset_seed)

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.player.close()


class RayPopulationCollector:
    """The learner's side: hands chunks to free actors, gathers the members' returns in member order.

    :param runner: the :class:`~maze_cli.runners.ray.RayRunner` (workers, CPUs, failure policy, timeout).
    :param algorithm: the :class:`~maze_cli.algorithms.es.ES` whose generations to play.
    :param seed: seeds the envs' resets as under ``runner=dev``.
    """

    def __init__(self, runner: Any, env_factory: EnvFactory, algorithm: ES, seed: Optional[int]):
        self.ray = runner.connect()
        self.algorithm, self.seed = algorithm, seed
        self.restart_failed = runner.on_worker_failure == "restart"
        self.max_restarts = runner.max_worker_restarts
        self.env_steps = 0
        self.restarts = 0
        n_workers = min(runner.num_workers, algorithm.config.n_pairs)
        self._chunks = split_pairs(algorithm.config.n_pairs, n_workers)
        actor = self.ray.remote(RayChunkPlayer).options(
            num_cpus=runner.num_cpus_per_worker, max_restarts=runner.max_worker_restarts, max_task_retries=0)
        self.workers = [actor.remote(env_factory, algorithm.config, algorithm.policy, runner.torch_threads)
                        for _ in range(n_workers)]
        self._generation = 0
        self._episode_parts: List[Dict[str, float]] = []

    def worker_pids(self) -> List[int]:
        """Process ids of the actors (monitoring, and fault injection in tests)."""
        return self.ray.get([worker.pid.remote() for worker in self.workers])

    def collect(self) -> PopulationBatch:
        offsets = self.algorithm.draw_offsets()
        weights = self.ray.put({k: v.cpu() for k, v in self.algorithm.policy.state_dict().items()})
        waiting: Deque[int] = deque(range(len(self._chunks)))
        in_flight: Dict[Any, Tuple[int, int]] = {}  # reference -> (worker, chunk)
        parts: Dict[int, Tuple] = {}

        def hand_out(worker: int, chunk: int) -> None:
            pairs = self._chunks[chunk]
            ref = self.workers[worker].play.remote(weights, offsets[pairs],
                                                   chunk_seed(self.seed, self._generation, pairs))
            in_flight[ref] = (worker, chunk)

        for worker in range(len(self.workers)):
            if waiting:
                hand_out(worker, waiting.popleft())
        while in_flight:
            ref = self.ray.wait(list(in_flight), num_returns=1)[0][0]
            worker, chunk = in_flight.pop(ref)
            try:
                parts[chunk] = self.ray.get(ref)
            except (self.ray.exceptions.RayActorError, self.ray.exceptions.RayTaskError) as err:
                self._failed(worker, err)
                hand_out(worker, chunk)  # Ray restarts the actor's process; the request waits for it
                continue
            if waiting:
                hand_out(worker, waiting.popleft())
        self._generation += 1
        batch, episode_parts = join_chunks(offsets, [parts[chunk] for chunk in range(len(self._chunks))])
        self._episode_parts += episode_parts
        self.env_steps += int(batch.lengths.sum())
        return batch

    def _failed(self, worker: int, err: Exception) -> None:
        cause = getattr(err, "cause", None) or err
        text = str(cause).strip().splitlines()
        failure = f"ray population worker {worker} failed ({type(cause).__name__}: {text[-1] if text else ''})"
        if not self.restart_failed or self.restarts >= self.max_restarts:
            kind = EnvError if isinstance(err, self.ray.exceptions.RayTaskError) else EnvWorkerDied
            raise kind(f"{failure}; the run stops, its checkpoints are intact") from None
        self.restarts += 1
        if isinstance(err, self.ray.exceptions.RayTaskError):  # the env raised in a live process: restart that
            self.ray.kill(self.workers[worker], no_restart=False)
        logger.warning(f"{failure}; restarting it and playing its chunk again "
                       f"(restart {self.restarts} of {self.max_restarts})")

    def pop_episode_stats(self) -> Dict[str, float]:
        parts, self._episode_parts = self._episode_parts, []
        return {**merge_reduced_stats(parts, "train"), "time/worker_restarts": float(self.restarts)}

    def close(self) -> None:
        if self.workers:
            self.ray.wait([worker.close.remote() for worker in self.workers], num_returns=len(self.workers),
                          timeout=10.0)
        for worker in self.workers:
            self.ray.kill(worker)
        self.workers = []
