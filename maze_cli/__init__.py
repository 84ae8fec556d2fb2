"""maze_cli: config-driven reinforcement-learning training, from the CLI (maze-run) or Python (RunContext)."""
from maze_cli.api.run_context import RunContext
from maze_cli.distributions import (BernoulliProbabilityDistribution, CategoricalProbabilityDistribution,
                                    DiagonalGaussianProbabilityDistribution, DistributionMapper,
                                    MultiCategoricalProbabilityDistribution,
                                    SquashedGaussianProbabilityDistribution,
                                    StateDependentSquashedGaussianProbabilityDistribution)
from maze_cli.envs import GymMazeEnv, LogStatsWrapper, MazeEnv
from maze_cli.models import (ProbabilisticPolicyComposer, QCriticComposer, SharedStateCriticComposer,
                             StepStateCriticComposer, TorchModelBlock)
from maze_cli.algorithms.config import A2CAlgorithmConfig, BCAlgorithmConfig, PPOAlgorithmConfig, SACAlgorithmConfig
from maze_cli.core.errors import ConfigError
from maze_cli.train.evaluator import RolloutEvaluator

__all__ = [
    "A2CAlgorithmConfig", "BCAlgorithmConfig", "BernoulliProbabilityDistribution", "CategoricalProbabilityDistribution", "ConfigError",
    "DiagonalGaussianProbabilityDistribution", "DistributionMapper", "GymMazeEnv", "LogStatsWrapper", "MazeEnv",
    "MultiCategoricalProbabilityDistribution", "PPOAlgorithmConfig", "ProbabilisticPolicyComposer", "QCriticComposer", "RolloutEvaluator", "RunContext",
    "SACAlgorithmConfig", "StateDependentSquashedGaussianProbabilityDistribution",
    "SharedStateCriticComposer", "SquashedGaussianProbabilityDistribution", "StepStateCriticComposer",
    "TorchModelBlock",
]
