"""Budgets in env steps (as the RL Zoo's ``-n``): turn ``budget.env_steps`` and ``budget.eval_every_env_steps``
into the loop's epochs, so that the same budget trains the same env steps whatever the number of envs."""
from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, Optional

from maze_cli.algorithms.config import AlgorithmConfig
from maze_cli.core.errors import POSITIVE_INT, ConfigError, check

logger = logging.getLogger("maze_cli")


def apply_budget(algorithm: AlgorithmConfig, n_envs: int, budget: Optional[Any]) -> AlgorithmConfig:
    """A copy of ``algorithm`` whose ``epoch_length`` covers about ``eval_every_env_steps`` env steps and whose
    ``n_epochs`` cover ``env_steps`` (rounded up to whole epochs); unset keys leave the algorithm's values."""
    budget = dict(budget or {})
    unknown = sorted(set(budget) - {"env_steps", "eval_every_env_steps"})
    if unknown:
        raise ConfigError(f"budget.{unknown[0]}: unknown key; budget takes env_steps and eval_every_env_steps")
    if algorithm.steps_per_env_per_update is None:
        if all(value is None for value in budget.values()):
            return algorithm
        raise ConfigError(f"budget: {type(algorithm).__name__} plays whole episodes, so a budget in env steps "
                          f"cannot be turned into updates; set algorithm.n_epochs and algorithm.epoch_length "
                          f"(updates per epoch) instead")
    per_update = algorithm.steps_per_env_per_update * n_envs
    changes = {}
    every, total = budget.get("eval_every_env_steps"), budget.get("env_steps")
    if every is not None:
        check(POSITIVE_INT(every), "budget.eval_every_env_steps", every, "an integer >= 1 (env steps)")
        changes["epoch_length"] = max(1, round(every / per_update))
    if total is not None:
        check(POSITIVE_INT(total), "budget.env_steps", total, "an integer >= 1 (env steps)")
        per_epoch = changes.get("epoch_length", algorithm.epoch_length) * per_update
        changes["n_epochs"] = max(1, math.ceil(total / per_epoch))
    return dataclasses.replace(algorithm, **changes) if changes else algorithm


def describe_budget(algorithm: AlgorithmConfig, n_envs: int) -> str:
    """The run's first line: envs, env steps per update and per epoch, evaluation interval and budget."""
    if algorithm.steps_per_env_per_update is None:  # whole episodes per update (ES)
        evaluation = f"evaluation every epoch ({algorithm.eval_repeats} episodes)" \
            if algorithm.eval_repeats > 0 else "no evaluation"
        return (f"population of {algorithm.population_size} (one episode each) per update, "
                f"{algorithm.epoch_length} updates per epoch, {evaluation}; budget {algorithm.n_epochs} epochs = "
                f"{algorithm.n_epochs * algorithm.epoch_length} updates")
    per_update = algorithm.steps_per_env_per_update * n_envs
    per_epoch = per_update * algorithm.epoch_length
    evaluation = f"evaluation every {per_epoch:,} env steps ({algorithm.eval_repeats} episodes)" \
        if algorithm.eval_repeats > 0 else "no evaluation"
    return (f"{n_envs} envs, {per_update:,} env steps per update, {algorithm.epoch_length} updates per epoch, "
            f"{evaluation}; budget {algorithm.n_epochs} epochs = {algorithm.n_epochs * per_epoch:,} env steps")
