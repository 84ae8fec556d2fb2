"""What every runner is and gives the training loop: :class:`Runner` and the :class:`Collector` it makes."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Dict, Optional, Protocol

import torch

from maze_cli.core.errors import POSITIVE_INT, check
from maze_cli.envs.maze_env import MazeEnv
from maze_cli.envs.make import make_vector_env
from maze_cli.envs.vector import EnvFactory, VectorEnv
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.population import PopulationCollector


class Collector(Protocol):
    """A runner's rollout machinery, as the training loop uses it."""

    env_steps: int

    def collect(self) -> RolloutBatch:
        """The next rollout, acted with the current policy weights."""

    def pop_episode_stats(self) -> Dict[str, float]:
        """``train/...`` statistics of the episodes finished since the last call."""

    def close(self) -> None:
        """Release envs and workers."""


@dataclass
class Runner(ABC):
    """Where envs run. Its fields are the ``runner`` config group's schema.

    :param torch_threads: intra-op threads for torch; 1 is robust for small nets on shared cores.
    """

    torch_threads: int = 1

    def __post_init__(self) -> None:
        check(POSITIVE_INT(self.torch_threads), "runner.torch_threads", self.torch_threads, "an integer >= 1")

    @property
    @abstractmethod
    def n_envs(self) -> int:
        """Envs stepped per rollout step (all workers together)."""

    @abstractmethod
    def make_collector(self, env_factory: EnvFactory, policy: TorchPolicy, critic: Optional[TorchStateCritic],
                       n_steps: int, seed: int, probe_env: Optional[MazeEnv] = None,
                       store_next_observations: bool = False) -> Collector:
        """The rollout machinery acting with ``policy`` on ``n_envs`` envs from ``env_factory``.

        :param store_next_observations: record every step's next observation (off-policy algorithms).
        """

    def make_async_collector(self, env_factory: EnvFactory, policy: TorchPolicy, n_steps: int, seed: int,
                             probe_env: Optional[MazeEnv] = None, broadcast_interval: int = 1,
                             queue_size: Optional[int] = None) -> Collector:
        """Rollout machinery for asynchronous actors (IMPALA): rollouts of ``n_steps`` steps of ``n_envs`` envs
        that record the behaviour policy's log-probabilities and each step's next observation.

        This default acts in this process between updates (no asynchrony: every rollout is acted with the
        current weights); ``runner=local`` and ``runner=ray`` act in parallel with the learner.

        :param broadcast_interval: updates between publications of the learner's weights to the actors.
        :param queue_size: rollouts that may wait for the learner (default: one per worker).
        """
        return self.make_collector(env_factory, policy, None, n_steps, seed, probe_env, store_next_observations=True)

    def make_population_collector(self, env_factory: EnvFactory, algorithm: Any, seed: int,
                                  probe_env: Optional[MazeEnv] = None) -> Collector:
        """Plays each generation of a population algorithm (ES): one episode per member on the runner's evaluation
        envs, acting batched over the members in this process."""
        vector_env = self.make_evaluation_env(env_factory, algorithm.population_size, probe_env)
        return PopulationCollector(vector_env, algorithm, seed)

    def make_evaluation_env(self, env_factory: EnvFactory, n_envs: int, probe_env: Optional[MazeEnv] = None
                            ) -> VectorEnv:
        """The envs evaluation episodes run on (one per episode): in this process, unless the runner says otherwise."""
        return make_vector_env(env_factory, n_envs, "sequential", probe=probe_env)

    def setup(self) -> None:
        """Process-wide settings, applied once before models are built."""
        torch.set_num_threads(self.torch_threads)
