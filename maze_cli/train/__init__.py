"""Training: algorithm configs, rollouts, returns, trainers, evaluation and checkpoints."""
from maze_cli.train.a2c import A2CTrainer
from maze_cli.train.config import A2CAlgorithmConfig, ConfigError, PPOAlgorithmConfig
from maze_cli.train.evaluator import BestModelSelection, RolloutEvaluator
from maze_cli.train.ppo import PPOTrainer
from maze_cli.train.returns import compute_gae
from maze_cli.train.rollout import RolloutBatch, RolloutCollector
from maze_cli.train.trainer import OnPolicyTrainer

__all__ = ["A2CAlgorithmConfig", "A2CTrainer", "BestModelSelection", "ConfigError", "OnPolicyTrainer",
           "PPOAlgorithmConfig", "PPOTrainer", "RolloutBatch", "RolloutCollector", "RolloutEvaluator", "compute_gae"]
