"""Evaluation rollouts and model selection."""
from __future__ import annotations

import math
from typing import Callable, Dict, Optional

import gymnasium as gym

from maze_cli.envs.log_stats import LogStatsWrapper
from maze_cli.models.policy import TorchPolicy


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
    """Runs ``n_episodes`` with a policy on one env and reports their statistics.

    :param eval_env: the env to evaluate on; wrapped in :class:`LogStatsWrapper` if it is not.
    :param n_episodes: episodes per evaluation.
    :param model_selection: notified with the mean return (``None``: just report).
    :param deterministic: act with the distribution's mode instead of sampling.
    :param seed: seeds the env's first reset, so evaluations are reproducible.
    """

    def __init__(self, eval_env: gym.Env, n_episodes: int, model_selection: Optional[BestModelSelection] = None,
                 deterministic: bool = False, seed: Optional[int] = None):
        if n_episodes < 1:
            raise ValueError(f"RolloutEvaluator: n_episodes={n_episodes}, expected >= 1")
        self.eval_env = eval_env if isinstance(eval_env, LogStatsWrapper) \
            else LogStatsWrapper.wrap(eval_env, logging_prefix="eval")
        self.n_episodes = n_episodes
        self.model_selection = model_selection
        self.deterministic = deterministic
        self._seed = seed

    def evaluate(self, policy: TorchPolicy) -> Dict[str, float]:
        """Statistics (``eval/episode_return_mean``, ...) of ``n_episodes`` fresh episodes."""
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
        stats = env.get_stats()
        if self.model_selection is not None:
            self.model_selection.update(stats[f"{env.logging_prefix}/episode_return_mean"])
        return stats
