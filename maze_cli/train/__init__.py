"""Training: algorithm configs, rollouts, trainers, evaluation and checkpoints."""
from maze_cli.train.a2c import A2CTrainer
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.collectors import make_rollout_collector
from maze_cli.train.config import A2CAlgorithmConfig, ConfigError, PPOAlgorithmConfig
from maze_cli.train.evaluator import BestModelSelection, RolloutEvaluator
from maze_cli.train.ppo import PPOTrainer
from maze_cli.train.rollout import RolloutCollector
from maze_cli.train.samples import TrainingSamples, actor_samples
from maze_cli.train.trainer import OnPolicyTrainer

__all__ = ["A2CAlgorithmConfig", "A2CTrainer", "BestModelSelection", "ConfigError", "OnPolicyTrainer",
           "PPOAlgorithmConfig", "PPOTrainer", "RolloutBatch", "RolloutCollector", "RolloutEvaluator",
           "TrainingSamples", "actor_samples", "make_rollout_collector"]
