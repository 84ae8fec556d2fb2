"""Step -> episode -> epoch statistics: the numbers every trainer, evaluator and log reports."""
from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import gymnasium as gym
import numpy as np

from maze_cli.envs.kpis import EPISODE_KPIS


class EpisodeStats:
    """Collects finished episodes and reduces them to epoch statistics.

    Kept separate from any env so that the vectorised collector (which sees many envs
    at once) and :class:`LogStatsWrapper` (one env) report identical numbers.
    """

    def __init__(self) -> None:
        self.returns: List[float] = []
        self.lengths: List[int] = []
        self.kpis: Dict[str, List[float]] = {}

    def add_episode(self, episode_return: float, episode_length: int) -> None:
        self.returns.append(float(episode_return))
        self.lengths.append(int(episode_length))

    def add_kpis(self, episode_kpis: Iterable[Mapping[str, float]]) -> None:
        """KPI aggregates of finished episodes (see :mod:`maze_cli.envs.kpis`), averaged per KPI by :meth:`reduce`."""
        for kpis in episode_kpis:
            for name, value in kpis.items():
                self.kpis.setdefault(name, []).append(float(value))

    def add_episodes(self, returns: np.ndarray, lengths: np.ndarray) -> None:
        self.returns.extend(np.asarray(returns, dtype=np.float64).tolist())
        self.lengths.extend(np.asarray(lengths, dtype=np.int64).tolist())

    @property
    def episode_count(self) -> int:
        return len(self.returns)

    def reduce(self, prefix: str) -> Dict[str, float]:
        """``{prefix/episode_return_mean: ..., ...}``; NaN statistics when no episode ended."""
        returns = np.asarray(self.returns, dtype=np.float64)
        lengths = np.asarray(self.lengths, dtype=np.float64)
        empty = returns.size == 0
        return {
            f"{prefix}/episode_return_mean": float("nan") if empty else float(returns.mean()),
            f"{prefix}/episode_return_std": float("nan") if empty else float(returns.std()),
            f"{prefix}/episode_return_min": float("nan") if empty else float(returns.min()),
            f"{prefix}/episode_return_max": float("nan") if empty else float(returns.max()),
            f"{prefix}/episode_length_mean": float("nan") if empty else float(lengths.mean()),
            f"{prefix}/episode_count": float(returns.size),
            **{f"{prefix}/kpi/{name}": float(np.mean(values)) for name, values in sorted(self.kpis.items())},
        }

    def clear(self) -> None:
        self.returns.clear()
        self.lengths.clear()
        self.kpis.clear()


def merge_reduced_stats(parts: Sequence[Dict[str, float]], prefix: str) -> Dict[str, float]:
    """The :meth:`EpisodeStats.reduce` result of the union of the episodes behind several reductions.

    Lets remote workers send only their reduced statistics: means are weighted by episode counts
    and the standard deviation is pooled exactly through ``E[x^2] = std^2 + mean^2``.
    """
    p = f"{prefix}/"
    parts = [part for part in parts if part[p + "episode_count"] > 0]
    if not parts:
        return EpisodeStats().reduce(prefix)
    counts = np.array([part[p + "episode_count"] for part in parts])
    total = counts.sum()

    def weighted(key: str) -> float:
        return float(np.dot(counts, [part[p + key] for part in parts]) / total)

    mean = weighted("episode_return_mean")
    second_moment = float(np.dot(counts, [part[p + "episode_return_std"] ** 2 + part[p + "episode_return_mean"] ** 2
                                          for part in parts]) / total)
    def kpi(key: str) -> float:  # over the parts whose episodes reported it
        having = [(part[p + "episode_count"], part[key]) for part in parts if key in part]
        return float(sum(c * v for c, v in having) / sum(c for c, _ in having))

    kpis = sorted({key for part in parts for key in part if key.startswith(p + "kpi/")})
    return {
        **{key: kpi(key) for key in kpis},
        p + "episode_return_mean": mean,
        p + "episode_return_std": float(np.sqrt(max(second_moment - mean ** 2, 0.0))),
        p + "episode_return_min": min(part[p + "episode_return_min"] for part in parts),
        p + "episode_return_max": max(part[p + "episode_return_max"] for part in parts),
        p + "episode_length_mean": weighted("episode_length_mean"),
        p + "episode_count": float(total),
    }


class EpisodeTracker:
    """Running return and length of every env of a vector env; finished episodes go to :class:`EpisodeStats`.

    :param n_envs: envs tracked side by side.
    """

    def __init__(self, n_envs: int):
        self.episode_stats = EpisodeStats()
        self._return = np.zeros(n_envs)
        self._length = np.zeros(n_envs, dtype=np.int64)

    def record(self, rewards: np.ndarray, length_increments: np.ndarray, ended: np.ndarray,
               episode_kpis: Optional[Mapping[int, Mapping[str, float]]] = None) -> None:
        """Add one step of every env: its reward, how much its episode grew (0 or 1), whether it ended, and
        the KPIs of the episodes that ended (``{env: {kpi: value}}``)."""
        self._return += rewards
        self._length += length_increments
        if ended.any():
            self.episode_stats.add_kpis(kpis for env, kpis in (episode_kpis or {}).items() if ended[env])
            self.episode_stats.add_episodes(self._return[ended], self._length[ended])
            self._return[ended] = 0.0
            self._length[ended] = 0

    def drop(self, envs: np.ndarray) -> None:
        """Forget the running episodes of ``envs`` (cut short by a failure: not a finished episode)."""
        self._return[envs] = 0.0
        self._length[envs] = 0

    def pop(self, prefix: str = "train") -> Dict[str, float]:
        """Statistics of the episodes finished since the last call."""
        stats = self.episode_stats.reduce(prefix)
        self.episode_stats.clear()
        return stats


class LogStatsWrapper(gym.Wrapper):
    """Records the return and length of every episode of the wrapped env.

    Episode statistics count flat steps: a structured env's sub-steps add their rewards to
    the same episode, and the length grows once per flat step (when the env reports
    ``info["flat_step_done"]`` or, for one-sub-step envs, at every step).

    :param env: the env to record.
    :param logging_prefix: prefix of the statistic names, e.g. ``"eval"`` -> ``eval/episode_return_mean``.
    """

    def __init__(self, env: gym.Env, logging_prefix: str = "train"):
        super().__init__(env)
        self.logging_prefix = logging_prefix
        self.episode_stats = EpisodeStats()
        self._return = 0.0
        self._length = 0

    @classmethod
    def wrap(cls, env: gym.Env, logging_prefix: str = "train") -> "LogStatsWrapper":
        """Tutorial-style constructor: ``LogStatsWrapper.wrap(env, logging_prefix="eval")``."""
        return cls(env, logging_prefix=logging_prefix)

    # MazeEnv interface of the wrapped env (gymnasium 1.x wrappers forward no attributes).
    @property
    def observation_spaces_dict(self):
        return self.env.get_wrapper_attr("observation_spaces_dict")

    @property
    def action_spaces_dict(self):
        return self.env.get_wrapper_attr("action_spaces_dict")

    @property
    def agent_counts_dict(self):
        return self.env.get_wrapper_attr("agent_counts_dict")

    def actor_id(self):
        return self.env.get_wrapper_attr("actor_id")()

    @property
    def observation_space(self):  # type: ignore[override]
        return self.env.observation_space

    @property
    def action_space(self):  # type: ignore[override]
        return self.env.action_space

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        self._return, self._length = 0.0, 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        self._length += int(info.get("flat_step_done", True))
        if terminated or truncated:
            self.episode_stats.add_kpis([info[EPISODE_KPIS]] if EPISODE_KPIS in info else [])
            self.episode_stats.add_episode(self._return, self._length)
            self._return, self._length = 0.0, 0
        return obs, reward, terminated, truncated, info

    def get_stats(self) -> Dict[str, float]:
        """Statistics over the episodes finished since the last :meth:`clear_stats`."""
        return self.episode_stats.reduce(self.logging_prefix)

    def get_stats_value(self, name: str) -> float:
        """One statistic by its short name, e.g. ``"episode_return_mean"``."""
        return self.get_stats()[f"{self.logging_prefix}/{name}"]

    def clear_stats(self) -> None:
        self.episode_stats.clear()
