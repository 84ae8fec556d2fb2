"""Acting on a vector env batched per actor: shared by rollout collection and evaluation.

Envs of a structured env may wait for different actors at the same time; each actor acts for all
envs waiting for it in one batch. An ordinary env has one actor, and the fast path acts on the
whole observation arrays without indexing.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from maze_cli.envs.vector import VectorStep

EnvRows = Optional[np.ndarray]
"""Indices of the envs in a group; ``None`` means every env (the single-actor fast path)."""


def actor_groups(actors: np.ndarray, n_actors: int) -> List[Tuple[int, EnvRows]]:
    """``(actor index, env rows)`` for every actor some env waits for."""
    if n_actors == 1:
        return [(0, None)]
    return [(int(actor), np.flatnonzero(actors == actor)) for actor in np.unique(actors)]


def group_observations(step: VectorStep, sub_step: int, rows: EnvRows) -> Dict[str, np.ndarray]:
    """The raw observations of ``rows`` (all envs when ``None``) at ``sub_step``."""
    arrays = step.observations[sub_step]
    return arrays if rows is None else {key: value[rows] for key, value in arrays.items()}


class EnvActions:
    """The actions of one vector-env step: per sub-step, arrays with one row per env, filled group by group.

    :param n_envs: envs of the vector env.
    """

    def __init__(self, n_envs: int):
        self.n_envs = n_envs
        self.arrays: Dict[int, Dict[str, np.ndarray]] = {}

    def put(self, sub_step: int, rows: EnvRows, actions: Dict[str, np.ndarray]) -> None:
        """Sets the actions of ``rows`` (all envs when ``None``) at ``sub_step``."""
        if rows is None:
            self.arrays[sub_step] = actions
            return
        buffers = self.arrays.setdefault(sub_step, {})
        for key, value in actions.items():
            if key not in buffers:
                buffers[key] = np.zeros((self.n_envs,) + value.shape[1:], dtype=value.dtype)
            buffers[key][rows] = value
