"""The joint distribution of a sub-step's heads and the DistributionMapper that picks one per head."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

import gymnasium as gym
import numpy as np
import torch

from maze_cli.core.imports import import_dotted
from maze_cli.distributions.base import ProbabilityDistribution
from maze_cli.distributions.categorical import (CategoricalProbabilityDistribution,
                                                MultiCategoricalProbabilityDistribution)
from maze_cli.distributions.colored_noise import ColoredNoise
from maze_cli.distributions.continuous import (BernoulliProbabilityDistribution,
                                               DiagonalGaussianProbabilityDistribution)
from maze_cli.distributions.gsde import GSDENoise

ExplorationNoise = Union[ColoredNoise, GSDENoise]


def _joint(terms: List[torch.Tensor]) -> torch.Tensor:
    """The sum of per-head terms; one head's term as it is (``sum`` would add it to 0, an op per acting step)."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


class DictProbabilityDistribution:
    """The joint distribution of all action heads of one sub-step (heads independent)."""

    def __init__(self, distributions: Dict[str, ProbabilityDistribution]):
        self.distributions = distributions

    def sample(self, noise: Optional[ExplorationNoise] = None) -> Dict[str, torch.Tensor]:
        """A sample of every head; with ``noise`` (colored or gSDE) the noise draws each head's sample."""
        if noise is None:
            return {key: dist.sample() for key, dist in self.distributions.items()}
        return {key: noise.sample(key, dist) for key, dist in self.distributions.items()}

    def deterministic_sample(self) -> Dict[str, torch.Tensor]:
        return {key: dist.deterministic_sample() for key, dist in self.distributions.items()}

    def log_prob(self, actions: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return _joint([dist.log_prob(actions[key]) for key, dist in self.distributions.items()])

    def entropy(self) -> torch.Tensor:
        return _joint([dist.entropy() for dist in self.distributions.values()])

    def from_env_actions(self, actions: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Recorded env actions of every head as samples :meth:`log_prob` scores (see ``from_env_action``)."""
        return {key: dist.from_env_action(actions[key]) for key, dist in self.distributions.items()}

    def env_actions(self, actions: Mapping[str, torch.Tensor]) -> Dict[str, np.ndarray]:
        """Samples of every head as the env expects them (see :meth:`ProbabilityDistribution.to_env_action`)."""
        return {key: dist.to_env_action(actions[key]) for key, dist in self.distributions.items()}


DEFAULT_DISTRIBUTIONS: Dict[Type[gym.Space], Type[ProbabilityDistribution]] = {
    gym.spaces.Discrete: CategoricalProbabilityDistribution,
    gym.spaces.MultiDiscrete: MultiCategoricalProbabilityDistribution,
    gym.spaces.MultiBinary: BernoulliProbabilityDistribution,
    gym.spaces.Box: DiagonalGaussianProbabilityDistribution,
}

ClassSpec = Union[str, type]


def _as_class(spec: ClassSpec, what: str) -> type:
    cls = import_dotted(spec) if isinstance(spec, str) else spec
    if not isinstance(cls, type):
        raise ValueError(f"{what} must name a class, got {spec!r}")
    return cls


class DistributionMapper:
    """Maps each action head of a (Dict) action space to a probability distribution.

    :param action_space: the sub-step's action space; non-Dict spaces are treated as one head.
    :param distribution_mapper_config: list of overrides, each
        ``{"action_space": <gym space class or dotted path>, "distribution": <class or dotted path>}``
        (applies to every head of that space type) or
        ``{"action_head": <head name>, "distribution": ...}`` (applies to one head; wins over types).
    """

    def __init__(self, action_space: gym.Space,
                 distribution_mapper_config: Optional[Sequence[Mapping[str, Any]]] = None):
        if not isinstance(action_space, gym.spaces.Dict):
            action_space = gym.spaces.Dict({"action": action_space})
        self.action_space = action_space
        by_type: Dict[type, type] = dict(DEFAULT_DISTRIBUTIONS)
        by_head: Dict[str, type] = {}
        for index, entry in enumerate(distribution_mapper_config or []):
            entry = dict(entry)
            if "distribution" not in entry or ("action_space" in entry) == ("action_head" in entry):
                raise ValueError(f"distribution_mapper_config[{index}] = {entry}: expected keys "
                                 f"'distribution' and exactly one of 'action_space' or 'action_head'")
            dist_cls = _as_class(entry["distribution"], f"distribution_mapper_config[{index}].distribution")
            if not issubclass(dist_cls, ProbabilityDistribution):
                raise ValueError(f"distribution_mapper_config[{index}].distribution: {dist_cls.__name__} "
                                 f"is not a maze_cli ProbabilityDistribution")
            if "action_head" in entry:
                if entry["action_head"] not in action_space.spaces:
                    raise ValueError(f"distribution_mapper_config[{index}]: unknown action head "
                                     f"{entry['action_head']!r}, expected one of {list(action_space.spaces)}")
                by_head[entry["action_head"]] = dist_cls
            else:
                by_type[_as_class(entry["action_space"], f"distribution_mapper_config[{index}].action_space")] \
                    = dist_cls
        self.head_distributions: Dict[str, Type[ProbabilityDistribution]] = {}
        for head, space in action_space.spaces.items():
            dist_cls = by_head.get(head) or next(
                (cls for space_type, cls in by_type.items() if isinstance(space, space_type)), None)
            if dist_cls is None:
                raise ValueError(f"no distribution for action head {head!r} with space {space}: "
                                 f"supported spaces are {[t.__name__ for t in by_type]}")
            self.head_distributions[head] = dist_cls
        self._logits_shapes = {head: tuple(cls.required_logits_shape(action_space[head]))
                               for head, cls in self.head_distributions.items()}
        self.feature_heads = [head for head, cls in self.head_distributions.items()
                              if getattr(cls, "needs_features", False)]
        self._init_parameters = {head: dict(cls.init_parameters(action_space[head]))
                                 for head, cls in self.head_distributions.items() if head not in self.feature_heads}

    def required_logits_shape(self, action_head: str) -> Tuple[int, ...]:
        """Shape (without batch dims) of the logits the policy net must output for ``action_head``."""
        return self._logits_shapes[action_head]

    @property
    def logits_shapes(self) -> Dict[str, Tuple[int, ...]]:
        """``{action_head: logits shape}``: what a policy network's ``action_logit_shapes`` receives."""
        return dict(self._logits_shapes)

    def init_parameters(self, n_features: int = 0) -> Dict[str, Dict[str, torch.Tensor]]:
        """``{action_head: {name: initial tensor}}`` of the heads with state-independent parameters; heads that
        read the network's features (gSDE) size theirs by ``n_features``, the width of those features."""
        params = {head: {name: value.clone() for name, value in head_params.items()}
                  for head, head_params in self._init_parameters.items() if head_params}
        for head in self.feature_heads:
            params[head] = dict(self.head_distributions[head].init_parameters(self.action_space[head], n_features))
        return params

    def action_head_to_distribution(self, action_head: str, logits: torch.Tensor,
                                    parameters: Optional[Mapping[str, torch.Tensor]] = None,
                                    mask: Optional[torch.Tensor] = None) -> ProbabilityDistribution:
        """The head's distribution; ``parameters`` default to the initial ones (a policy passes its learned ones).

        ``mask`` (true where an action is allowed) is passed only to distributions that support masks.
        """
        cls = self.head_distributions[action_head]
        if parameters is None and action_head in self.feature_heads:
            raise ValueError(f"action head {action_head!r}: {cls.__name__} reads the policy network's features; "
                             f"build its distribution through the policy (TorchPolicy.distribution)")
        params = dict(self._init_parameters[action_head] if parameters is None else parameters)
        if mask is not None:
            if not cls.supports_mask:
                raise ValueError(f"action head {action_head!r}: {cls.__name__} does not support action masks "
                                 f"(Categorical and MultiCategorical heads do)")
            params["mask"] = mask
        return cls(logits, self.action_space[action_head], **params)

    def logits_dict_to_distribution(self, logits_dict: Mapping[str, torch.Tensor],
                                    parameters: Optional[Mapping[str, Mapping[str, torch.Tensor]]] = None,
                                    masks: Optional[Mapping[str, torch.Tensor]] = None
                                    ) -> DictProbabilityDistribution:
        parameters, masks = parameters or {}, masks or {}
        return DictProbabilityDistribution({
            head: self.action_head_to_distribution(head, logits_dict[head], parameters.get(head), masks.get(head))
            for head in self.head_distributions})

    def __repr__(self) -> str:
        heads = ", ".join(f"{h}: {c.__name__}" for h, c in self.head_distributions.items())
        return f"DistributionMapper({heads})"
