"""maze_cli: config-driven reinforcement-learning training, from the CLI (maze-run) or Python (RunContext).

The public names are imported on first use (PEP 562), so ``maze-run --help`` and a run that fails
validation do not pay for importing torch; ``from maze_cli import RunContext`` works as usual.
"""
from __future__ import annotations

import importlib
from typing import Any, List

_HOMES = {
    "RunContext": "maze_cli.api.run_context",
    "BernoulliProbabilityDistribution": "maze_cli.distributions",
    "CategoricalProbabilityDistribution": "maze_cli.distributions",
    "DiagonalGaussianProbabilityDistribution": "maze_cli.distributions",
    "DistributionMapper": "maze_cli.distributions",
    "MultiCategoricalProbabilityDistribution": "maze_cli.distributions",
    "SquashedGaussianProbabilityDistribution": "maze_cli.distributions",
    "StateDependentSquashedGaussianProbabilityDistribution": "maze_cli.distributions",
    "GymMazeEnv": "maze_cli.envs",
    "LogStatsWrapper": "maze_cli.envs",
    "MazeEnv": "maze_cli.envs",
    "ProbabilisticPolicyComposer": "maze_cli.models",
    "QCriticComposer": "maze_cli.models",
    "SharedStateCriticComposer": "maze_cli.models",
    "StepStateCriticComposer": "maze_cli.models",
    "TorchModelBlock": "maze_cli.models",
    "A2CAlgorithmConfig": "maze_cli.algorithms.config",
    "BCAlgorithmConfig": "maze_cli.algorithms.bc_config",
    "ESAlgorithmConfig": "maze_cli.algorithms.es_config",
    "IMPALAAlgorithmConfig": "maze_cli.algorithms.config",
    "PPOAlgorithmConfig": "maze_cli.algorithms.config",
    "SACAlgorithmConfig": "maze_cli.algorithms.sac_config",
    "ConfigError": "maze_cli.core.errors",
    "RolloutEvaluator": "maze_cli.train.evaluator",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'maze_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_HOMES))
