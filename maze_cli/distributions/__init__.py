"""Action distributions and the DistributionMapper that picks one per action head.

Each distribution wraps a ``torch.distributions`` object built from the logits a policy
network produced for one action head. Log-probs and entropies are summed over the
head's event dimensions, so every head yields one number per batch entry.

Two contracts keep networks, storage and envs apart:

- The policy network outputs exactly :meth:`ProbabilityDistribution.required_logits_shape`.
  Parameters that do not depend on the observation (a Gaussian's log-std) are declared by
  :meth:`ProbabilityDistribution.init_parameters`; the policy owns them as learnable tensors
  (so they are in its ``state_dict``) and passes them to the constructor by name.
- :meth:`ProbabilityDistribution.sample` returns the distribution's own sample, which is what
  rollouts store and :meth:`log_prob` scores. :meth:`ProbabilityDistribution.to_env_action`
  maps it into the action space (clipping, squashing, dtype) just before it reaches the env.
"""
from maze_cli.distributions.base import ProbabilityDistribution
from maze_cli.distributions.categorical import (CategoricalProbabilityDistribution,
                                                MultiCategoricalProbabilityDistribution, apply_mask)
from maze_cli.distributions.continuous import (BernoulliProbabilityDistribution,
                                               DiagonalGaussianProbabilityDistribution,
                                               SquashedGaussianProbabilityDistribution,
                                               StateDependentSquashedGaussianProbabilityDistribution)
from maze_cli.distributions.gsde import GSDEGaussianProbabilityDistribution, GSDENoise
from maze_cli.distributions.mapper import DictProbabilityDistribution, DistributionMapper

__all__ = [
    "ProbabilityDistribution", "CategoricalProbabilityDistribution", "MultiCategoricalProbabilityDistribution",
    "BernoulliProbabilityDistribution", "DiagonalGaussianProbabilityDistribution",
    "SquashedGaussianProbabilityDistribution", "StateDependentSquashedGaussianProbabilityDistribution",
    "GSDEGaussianProbabilityDistribution", "GSDENoise", "DictProbabilityDistribution", "DistributionMapper",
    "apply_mask",
]
