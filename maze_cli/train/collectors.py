"""Where runners get their rollout machinery: a vector env of the run's envs and the one collector."""
from __future__ import annotations

from typing import Any, Optional

from maze_cli.envs.maze_env import MazeEnv
from maze_cli.envs.make import make_vector_env
from maze_cli.envs.vector import EnvFactory
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.rollout import RolloutCollector


def make_rollout_collector(env_factory: EnvFactory, n_envs: int, mode: str, policy: TorchPolicy,
                           critic: Optional[TorchStateCritic], n_steps: int, seed: Optional[int],
                           probe_env: Optional[MazeEnv] = None, store_next_observations: bool = False,
                           **vector_env_kwargs: Any) -> RolloutCollector:
    """A collector acting with ``policy`` on ``n_envs`` envs from ``env_factory``, ordinary or structured.

    :param mode: ``"sequential"`` (envs in this process) or ``"subprocess"`` (env worker processes).
    :param n_steps: env steps per env per rollout (for structured envs: sub-steps, i.e. decisions).
    :param seed: seeds the envs' first reset (env ``i`` gets ``seed + i``).
    :param probe_env: an env from ``env_factory`` for its spaces (and to pick gymnasium's vectorised
        implementation where one exists); built and closed by the vector env factory if omitted.
    :param store_next_observations: record each step's next observation (off-policy algorithms).
    :param vector_env_kwargs: passed on to the vector env factory (e.g. ``envs_per_worker``).
    """
    vector_env = make_vector_env(env_factory, n_envs, mode, probe=probe_env, **vector_env_kwargs)
    return RolloutCollector(vector_env, policy, critic, n_steps, seed, store_next_observations)
