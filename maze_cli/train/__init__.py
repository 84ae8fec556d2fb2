"""Training: rollouts, the training loop and its callbacks, evaluation, model selection and checkpoints."""
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.callbacks import Callback
from maze_cli.train.collectors import make_rollout_collector
from maze_cli.train.evaluator import RolloutEvaluator
from maze_cli.train.loop import TrainingLoop
from maze_cli.train.rollout import RolloutCollector
from maze_cli.train.samples import TrainingSamples, actor_samples
from maze_cli.train.selection import BestModelSelection

__all__ = ["BestModelSelection", "Callback", "RolloutBatch", "RolloutCollector", "RolloutEvaluator", "TrainingLoop",
           "TrainingSamples", "actor_samples", "make_rollout_collector"]
