"""The one place that picks the rollout machinery for an env: flat envs and structured envs differ.

Ordinary (single-sub-step, single-agent) envs keep the fast path: a gymnasium vector env with
one batched observation array per key and :class:`~maze_cli.train.rollout.RolloutCollector`.
Structured envs get :class:`~maze_cli.train.structured_rollout.StructuredRolloutCollector` over a
structured vector env, which lets every env wait for a different sub-step. Every runner builds its
collectors through :func:`make_rollout_collector`.
"""
from __future__ import annotations

from typing import Any, Optional, Union

import gymnasium as gym

from maze_cli.envs.maze_env import MazeEnv
from maze_cli.envs.structured_vector import make_structured_vector_env
from maze_cli.envs.vector import EnvFactory, make_vector_env
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.rollout import RolloutCollector
from maze_cli.train.structured_rollout import StructuredRolloutCollector


def is_structured(env: gym.Env) -> bool:
    """True for envs with several sub-steps or several agents in a sub-step (wrappers are looked through)."""
    counts = env.get_wrapper_attr("agent_counts_dict")
    return len(env.get_wrapper_attr("action_spaces_dict")) > 1 or any(int(c) > 1 for c in counts.values())


def make_rollout_collector(env_factory: EnvFactory, n_envs: int, mode: str, policy: TorchPolicy,
                           critic: TorchStateCritic, n_steps: int, seed: Optional[int],
                           probe_env: Optional[MazeEnv] = None, **vector_env_kwargs: Any
                           ) -> Union[RolloutCollector, StructuredRolloutCollector]:
    """A collector acting with ``policy`` on ``n_envs`` envs from ``env_factory``.

    :param mode: ``"sequential"`` (envs in this process) or ``"subprocess"`` (env worker processes).
    :param n_steps: env steps per env per rollout (for structured envs: sub-steps, i.e. decisions).
    :param seed: seeds the envs' first reset (env ``i`` gets ``seed + i``).
    :param probe_env: an env from ``env_factory``, to tell structured envs apart (and to pick
        gymnasium's vectorised implementation where one exists); built and closed here if omitted.
    :param vector_env_kwargs: passed on to the vector env factory (e.g. ``envs_per_worker``).
    """
    probe = probe_env if probe_env is not None else env_factory()
    try:
        if is_structured(probe):
            vector_env = make_structured_vector_env(env_factory, n_envs, mode, **vector_env_kwargs)
            return StructuredRolloutCollector(vector_env, policy, critic, n_steps,
                                              probe.get_wrapper_attr("agent_counts_dict"), seed)
        vector_env = make_vector_env(env_factory, n_envs, mode, probe=probe, **vector_env_kwargs)
        return RolloutCollector(vector_env, policy, critic, n_steps, seed)
    finally:
        if probe_env is None:
            probe.close()
