"""Env KPIs: numbers an env reports in ``info`` (cost, service level, ...) aggregated per episode.

A :class:`KpiRecorder` wraps each env where it runs (in worker processes too) and, at the step that ends
an episode, puts the episode's aggregates into ``info["episode_kpis"]``; vector envs pass them on as
:attr:`VectorStep.episode_kpis` and the episode statistics average them per epoch (``train/kpi/<name>``,
``eval/kpi/<name>``).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import gymnasium as gym
import numpy as np

from maze_cli.core.errors import ConfigError

REDUCTIONS = ("sum", "mean", "last")
EPISODE_KPIS = "episode_kpis"
INFO_KPIS = "kpis"
"""A configured key is read from ``info[key]`` or from a dict ``info["kpis"]``."""


def parse_kpis(node: Any) -> Dict[str, str]:
    """The ``kpis`` setting as ``{name: reduction}``: a list of names (each summed over the episode) or a
    mapping ``{name: sum|mean|last}``; raises naming the bad entry."""
    if not node:
        return {}
    if isinstance(node, (str, int, float)):
        raise ConfigError(f"kpis={node!r} is invalid: expected a list of info keys or a mapping "
                          f"{{key: {'|'.join(REDUCTIONS)}}}")
    items = dict(node.items()) if hasattr(node, "items") else {str(name): "sum" for name in node}
    for name, reduction in items.items():
        if reduction not in REDUCTIONS:
            raise ConfigError(f"kpis.{name}={reduction!r} is invalid: expected one of {list(REDUCTIONS)}")
    return {str(name): str(reduction) for name, reduction in items.items()}


class KpiRecorder(gym.Wrapper):
    """Aggregates the configured keys of ``info`` (or of ``info["kpis"]``) over each episode; the last step's
    info carries them as ``info["episode_kpis"]`` (keys the episode never reported are left out).

    :param env: a MazeEnv (possibly wrapped).
    :param kpis: ``{info key: sum|mean|last}``.
    """

    def __init__(self, env: gym.Env, kpis: Mapping[str, str]):
        super().__init__(env)
        self.kpis = dict(kpis)
        self._values: Dict[str, List[float]] = {}

    # MazeEnv interface of the wrapped env (gymnasium 1.x wrappers forward no attributes)
    def actor_id(self):
        return self.env.get_wrapper_attr("actor_id")()

    def reset(self, **kwargs: Any):
        self._values = {}
        return self.env.reset(**kwargs)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        nested = info.get(INFO_KPIS) if isinstance(info.get(INFO_KPIS), Mapping) else {}
        for key in self.kpis:
            value = info.get(key, nested.get(key))
            if value is not None:
                self._values.setdefault(key, []).append(float(value))
        if terminated or truncated:
            info = {**info, EPISODE_KPIS: self.episode_kpis()}
            self._values = {}
        return obs, reward, terminated, truncated, info

    def episode_kpis(self) -> Dict[str, float]:
        """The running episode's aggregates: sum, mean or last value of each key reported in it."""
        reduce = {"sum": np.sum, "mean": np.mean, "last": lambda values: values[-1]}
        return {key: float(reduce[self.kpis[key]](values)) for key, values in self._values.items()}


def wrap_kpis(env: gym.Env, kpis: Optional[Mapping[str, str]]) -> gym.Env:
    """``env`` in a :class:`KpiRecorder` when KPIs are configured; otherwise as it is (plain envs keep
    gymnasium's vectorised fast path)."""
    return KpiRecorder(env, kpis) if kpis else env
