"""Evaluation episodes and model selection: one batched path for every env kind."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

import gymnasium as gym
import numpy as np
import torch

from maze_cli.envs.log_stats import EpisodeStats, LogStatsWrapper
from maze_cli.envs.maze_env import ActorID
from maze_cli.envs.vector import SequentialVectorEnv, VectorEnv
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.acting import EnvActions, actor_groups, group_observations
from maze_cli.train.selection import BestModelSelection

EVALUATION_SEED_STRIDE = 7919
CONFIRMATION_SEED_OFFSET = 104_729
CONFIRMATIONS_PER_EVALUATION = 4  # seed slots: model selection and the stop rule confirm at most once each


def _episode_quota(n_episodes: int, n_envs: int) -> np.ndarray:
    """Episodes each env runs: spread evenly, the first envs take the remainder."""
    quota = np.full(n_envs, n_episodes // n_envs)
    quota[:n_episodes % n_envs] += 1
    return quota


Act = Callable[[ActorID, Dict[str, np.ndarray], Optional[np.ndarray]], Dict[str, np.ndarray]]
"""``act(actor, raw observations of the env rows waiting for it, those rows (None: all envs)) -> env actions``."""


@dataclass
class PlayedEpisodes:
    """What :func:`play_episodes` played: the episodes' statistics, and per env the summed return and
    length of the episodes it counted (with one episode per env: that episode's)."""

    episodes: EpisodeStats
    env_returns: np.ndarray
    env_lengths: np.ndarray


def play_episodes(env: VectorEnv, act: Act, quota: np.ndarray, seed: Optional[int]) -> PlayedEpisodes:
    """Steps all envs of ``env`` together until env ``i`` has finished ``quota[i]`` episodes; ``act`` picks the
    actions per actor, batched over the envs waiting for it. An env whose worker restarted plays its episode
    again; an env past its quota is not stepped (a vector env that can only step all envs steps it, uncounted)."""
    n = env.num_envs
    step = env.reset(seed=seed)
    remaining = quota.copy()
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    env_returns, env_lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    episodes, actions = EpisodeStats(), EnvActions(n)
    while remaining.any():
        playing = remaining > 0
        for actor_index, rows in actor_groups(step.actors, len(env.actor_ids)):
            if not playing.all():  # envs past their quota need no action
                rows = np.flatnonzero(playing) if rows is None else rows[playing[rows]]
                if len(rows) == 0:
                    continue
            actor = env.actor_ids[actor_index]
            actions.put(actor[0], rows, act(actor, group_observations(step, actor[0], rows), rows))
        step = env.step(actions.arrays, active=playing)  # envs past their quota wait
        counting = playing & step.valid
        if step.restarted is not None:  # their worker failed: those episodes start again
            counting &= ~step.restarted
            returns[step.restarted], lengths[step.restarted] = 0.0, 0
        returns += np.where(counting, step.rewards, 0.0)
        lengths += counting & step.flat_step_done
        ended = counting & (step.terminated | step.truncated)
        episodes.add_kpis(kpis for env_index, kpis in step.episode_kpis.items() if ended[env_index])
        episodes.add_episodes(returns[ended], lengths[ended])
        env_returns[ended] += returns[ended]
        env_lengths[ended] += lengths[ended]
        returns[ended], lengths[ended] = 0.0, 0
        remaining -= ended
    return PlayedEpisodes(episodes, env_returns, env_lengths)


class RolloutEvaluator:
    """Runs ``n_episodes`` with a policy and reports their statistics (``eval/episode_return_mean``, ...).

    All envs of ``vector_env`` step together and the policy acts for them batched per actor; with one
    env per episode every env runs exactly one episode, the fastest way to evaluate. Given a single
    ``eval_env`` instead (as in the Maze tutorial), its episodes run one after the other.

    :param eval_env: an env to evaluate on (its ``LogStatsWrapper`` prefix, if any, names the statistics).
    :param n_episodes: episodes per evaluation (default: one per env of ``vector_env``).
    :param model_selection: notified with the mean return (``None``: just report).
    :param deterministic: act with the distribution's mode instead of sampling.
    :param seed: every evaluation resets its envs with its own seed (the ``k``-th with
        ``seed + EVALUATION_SEED_STRIDE * k``), so its start states do not depend on the policy.
    :param vector_env: the envs to evaluate on, instead of ``eval_env``.
    :param first_evaluation: evaluations done before (a continued run), so seeds are not reused.
    """

    def __init__(self, eval_env: Optional[gym.Env] = None, n_episodes: Optional[int] = None,
                 model_selection: Optional[BestModelSelection] = None, deterministic: bool = False,
                 seed: Optional[int] = None, vector_env: Optional[VectorEnv] = None, first_evaluation: int = 0):
        if (eval_env is None) == (vector_env is None):
            raise ValueError("RolloutEvaluator: pass either eval_env or vector_env")
        self.prefix = eval_env.logging_prefix if isinstance(eval_env, LogStatsWrapper) else "eval"
        self.vector_env = vector_env if vector_env is not None else SequentialVectorEnv.of_env(eval_env)
        self.n_episodes = self.vector_env.num_envs if n_episodes is None else n_episodes
        if self.n_episodes < 1:
            raise ValueError(f"RolloutEvaluator: n_episodes={self.n_episodes}, expected >= 1")
        self.model_selection = model_selection
        self.deterministic = deterministic
        self._seed = seed
        self._count = first_evaluation
        self._confirmations = 0  # since the last evaluation

    @torch.inference_mode()
    def evaluate(self, policy: TorchPolicy) -> Dict[str, float]:
        """Statistics of ``n_episodes`` fresh episodes."""
        seed = None if self._seed is None else self._seed + EVALUATION_SEED_STRIDE * self._count
        self._count += 1
        self._confirmations = 0
        device = next(policy.parameters()).device

        def act(actor: ActorID, observations: Dict[str, np.ndarray], rows: Optional[np.ndarray]
                ) -> Dict[str, np.ndarray]:
            obs = policy.converters[actor[0]](observations)
            dist = policy.distribution({k: v.to(device) for k, v in obs.items()}, actor)
            return dist.env_actions(dist.deterministic_sample() if self.deterministic else dist.sample())

        quota = _episode_quota(self.n_episodes, self.vector_env.num_envs)
        stats = play_episodes(self.vector_env, act, quota, seed).episodes.reduce(self.prefix)
        if self.model_selection is not None:
            self.model_selection.update(stats[f"{self.prefix}/episode_return_mean"])
        return stats

    def confirm(self, policy: TorchPolicy, n_episodes: int, same_episodes: bool = False) -> Dict[str, float]:
        """Statistics of ``n_episodes`` more episodes on the same envs, from seeds no regular evaluation uses
        (each confirmation after the same evaluation gets its own, unless ``same_episodes`` replays the start
        states of the previous one, for a paired comparison), without notifying model selection."""
        if not same_episodes:
            self._confirmations = min(self._confirmations + 1, CONFIRMATIONS_PER_EVALUATION)
        index = self._count * CONFIRMATIONS_PER_EVALUATION + self._confirmations - 1
        confirmation = RolloutEvaluator(vector_env=self.vector_env, n_episodes=n_episodes,
                                        deterministic=self.deterministic,
                                        seed=None if self._seed is None else self._seed + CONFIRMATION_SEED_OFFSET,
                                        first_evaluation=index)
        return confirmation.evaluate(policy)

    def close(self) -> None:
        """Release the envs."""
        self.vector_env.close()
