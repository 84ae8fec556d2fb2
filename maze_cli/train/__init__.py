"""Training: algorithm configs, rollouts, returns, trainers, evaluation and checkpoints."""
from maze_cli.train.a2c import A2CTrainer
from maze_cli.train.config import A2CAlgorithmConfig, ConfigError, PPOAlgorithmConfig
from maze_cli.train.evaluator import BestModelSelection, RolloutEvaluator
from maze_cli.train.collectors import is_structured, make_rollout_collector
from maze_cli.train.ppo import PPOTrainer
from maze_cli.train.returns import compute_gae, compute_structured_gae
from maze_cli.train.rollout import RolloutBatch, RolloutCollector
from maze_cli.train.samples import TrainingSamples
from maze_cli.train.structured_rollout import StructuredRolloutBatch, StructuredRolloutCollector
from maze_cli.train.trainer import OnPolicyTrainer

__all__ = ["A2CAlgorithmConfig", "A2CTrainer", "BestModelSelection", "ConfigError", "OnPolicyTrainer",
           "PPOAlgorithmConfig", "PPOTrainer", "RolloutBatch", "RolloutCollector", "RolloutEvaluator",
           "StructuredRolloutBatch", "StructuredRolloutCollector", "TrainingSamples", "compute_gae",
           "compute_structured_gae", "is_structured", "make_rollout_collector"]
