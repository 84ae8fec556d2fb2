"""Evaluation rollouts and model selection."""
from __future__ import annotations

import math
from typing import Callable, Dict, Optional

import gymnasium as gym
import numpy as np
import torch

from maze_cli.envs.log_stats import EpisodeStats, LogStatsWrapper
from maze_cli.models.policy import TorchPolicy


EVALUATION_SEED_STRIDE = 7919


class BestModelSelection:
    """Remembers the best evaluation return and calls ``on_improvement`` when it is beaten.

    :param on_improvement: called with the new best return (e.g. to save ``best.pt``).
    """

    def __init__(self, on_improvement: Optional[Callable[[float], None]] = None):
        self.on_improvement = on_improvement
        self.best_return = -math.inf
        self.epochs_without_improvement = 0

    def update(self, mean_return: float) -> bool:
        """Record one evaluation; True if it is a new best."""
        if not math.isnan(mean_return) and mean_return > self.best_return:
            self.best_return = mean_return
            self.epochs_without_improvement = 0
            if self.on_improvement is not None:
                self.on_improvement(mean_return)
            return True
        self.epochs_without_improvement += 1
        return False


class RolloutEvaluator:
    """Runs ``n_episodes`` with a policy and reports their statistics.

    Given an env, episodes run one after the other on it. Given ``vector_env`` (a dict-space
    vector env of ``n_episodes`` envs, NEXT_STEP autoreset), every env runs exactly one episode
    and the policy acts on all of them in one batch per step: the same episodes' statistics at
    a fraction of the wall time, which is most of a short training run's evaluation cost.

    :param eval_env: the env to evaluate on; wrapped in :class:`LogStatsWrapper` if it is not.
        May be ``None`` when ``vector_env`` is given.
    :param n_episodes: episodes per evaluation.
    :param model_selection: notified with the mean return (``None``: just report).
    :param deterministic: act with the distribution's mode instead of sampling.
    :param seed: makes evaluations reproducible: the single env is seeded at the first reset and later
        episodes continue its random stream; a vector env is seeded at every evaluation (the ``k``-th
        with ``seed + EVALUATION_SEED_STRIDE * k``), so its start states do not depend on the policy.
    :param vector_env: optional batched path for single-sub-step envs (see above).
    """

    def __init__(self, eval_env: Optional[gym.Env], n_episodes: int,
                 model_selection: Optional[BestModelSelection] = None, deterministic: bool = False,
                 seed: Optional[int] = None, vector_env: Optional[gym.vector.VectorEnv] = None):
        if n_episodes < 1:
            raise ValueError(f"RolloutEvaluator: n_episodes={n_episodes}, expected >= 1")
        if vector_env is not None and vector_env.num_envs != n_episodes:
            raise ValueError(f"RolloutEvaluator: vector_env has {vector_env.num_envs} envs, expected one per "
                             f"episode (n_episodes={n_episodes})")
        if eval_env is None and vector_env is None:
            raise ValueError("RolloutEvaluator: pass eval_env or vector_env")
        self.eval_env = eval_env if eval_env is None or isinstance(eval_env, LogStatsWrapper) \
            else LogStatsWrapper.wrap(eval_env, logging_prefix="eval")
        self.vector_env = vector_env
        self.n_episodes = n_episodes
        self.model_selection = model_selection
        self.deterministic = deterministic
        self._seed = seed
        self._count = 0

    def evaluate(self, policy: TorchPolicy) -> Dict[str, float]:
        """Statistics (``eval/episode_return_mean``, ...) of ``n_episodes`` fresh episodes."""
        if self.vector_env is not None:
            stats, prefix = self._evaluate_batched(policy), "eval"
        else:
            stats, prefix = self._evaluate_sequential(policy), self.eval_env.logging_prefix
        if self.model_selection is not None:
            self.model_selection.update(stats[f"{prefix}/episode_return_mean"])
        return stats

    def _evaluate_sequential(self, policy: TorchPolicy) -> Dict[str, float]:
        env = self.eval_env
        env.clear_stats()
        for _ in range(self.n_episodes):
            obs, _ = env.reset(seed=self._seed)
            self._seed = None  # seed once; later episodes continue the env's random stream
            done = False
            while not done:
                action = policy.compute_action(obs, env.actor_id(), deterministic=self.deterministic)
                obs, _, terminated, truncated, _ = env.step(action)
                done = terminated or truncated
        return env.get_stats()

    @torch.inference_mode()
    def _evaluate_batched(self, policy: TorchPolicy) -> Dict[str, float]:
        env, n = self.vector_env, self.n_episodes
        # Every evaluation draws its start states from its own seed: finished envs keep autoresetting
        # until the last episode ends, so a continued random stream would depend on the policy.
        obs, _ = env.reset(seed=None if self._seed is None else self._seed + EVALUATION_SEED_STRIDE * self._count)
        self._count += 1
        returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
        running = np.ones(n, dtype=bool)
        while running.any():
            dist = policy.distribution(policy.converters[0](obs))
            actions = dist.deterministic_sample() if self.deterministic else dist.sample()
            obs, rewards, terminated, truncated, _ = env.step(dist.env_actions(actions))
            returns += np.where(running, rewards, 0.0)
            lengths += running
            running &= ~(terminated | truncated)
        episodes = EpisodeStats()
        episodes.add_episodes(returns, lengths)
        return episodes.reduce("eval")

    def close(self) -> None:
        """Release the vector env (a single env given by the caller stays open)."""
        if self.vector_env is not None:
            self.vector_env.close()
