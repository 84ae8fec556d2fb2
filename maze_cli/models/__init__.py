"""Models: batch-shape normalisation, default networks, policies and critics with their composers."""
from maze_cli.models.critic import SharedStateCriticComposer, StepStateCriticComposer, TorchStateCritic
from maze_cli.models.default_nets import DefaultPolicyNet, DefaultValueNet
from maze_cli.models.normalization import ObservationNormalization, ObservationNormalizer
from maze_cli.models.observations import ObservationConverter
from maze_cli.models.perception import Perception
from maze_cli.models.policy import ProbabilisticPolicyComposer, TorchPolicy
from maze_cli.models.q_critic import DefaultQNet, QCriticComposer, TorchQCritic
from maze_cli.models.torch_model_block import TorchModelBlock

__all__ = ["DefaultPolicyNet", "DefaultQNet", "DefaultValueNet", "QCriticComposer", "TorchQCritic", "ObservationConverter", "Perception",
           "ObservationNormalization", "ObservationNormalizer",
           "ProbabilisticPolicyComposer", "SharedStateCriticComposer", "StepStateCriticComposer",
           "TorchModelBlock", "TorchPolicy", "TorchStateCritic"]
