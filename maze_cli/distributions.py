"""Action distributions and the DistributionMapper that picks one per action head.

Each distribution wraps a ``torch.distributions`` object built from the logits a policy
network produced for one action head. Log-probs and entropies are summed over the
head's event dimensions, so every head yields one number per batch entry.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

import gymnasium as gym
import numpy as np
import torch
from torch import distributions as td

# Building distribution objects in the acting loop is hot: argument validation costs more
# than the sampling itself and the network outputs are finite by construction.
td.Distribution.set_default_validate_args(False)

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


def import_dotted(path: str) -> Any:
    """``"package.module.Name"`` -> the object; the error names the path and what failed."""
    if not isinstance(path, str) or "." not in path:
        raise ValueError(f"expected a dotted path like 'package.module.Name', got {path!r}")
    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import {path!r}: {err}") from None


class ProbabilityDistribution(ABC):
    """One action head's distribution over actions, parameterised by network logits.

    :param logits: network output of shape ``(*batch, *required_logits_shape(action_space))``.
    :param action_space: the head's action space.
    """

    def __init__(self, logits: torch.Tensor, action_space: gym.Space):
        self.logits = logits
        self.action_space = action_space

    @classmethod
    @abstractmethod
    def required_logits_shape(cls, action_space: gym.Space) -> Tuple[int, ...]:
        """Logits shape (without batch dims) the policy network must output for this head."""

    @abstractmethod
    def sample(self) -> torch.Tensor:
        """A random action per batch entry."""

    @abstractmethod
    def deterministic_sample(self) -> torch.Tensor:
        """The mode: what a deterministic policy does."""

    @abstractmethod
    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """Log-density of ``actions``, summed over the head's event dims."""

    @abstractmethod
    def entropy(self) -> torch.Tensor:
        """Entropy, summed over the head's event dims."""


class TorchDistribution(ProbabilityDistribution):
    """A head backed by a ``torch.distributions`` object whose event dims are reinterpreted."""

    dist: td.Distribution

    def sample(self) -> torch.Tensor:
        return self.dist.sample()

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.dist.log_prob(actions)

    def entropy(self) -> torch.Tensor:
        return self.dist.entropy()


class CategoricalProbabilityDistribution(TorchDistribution):
    """Discrete(n): logits of shape ``(n,)``."""

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Discrete):
        super().__init__(logits, action_space)
        self.dist = td.Categorical(logits=logits)
        self.start = int(action_space.start)

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.Discrete) -> Tuple[int, ...]:
        return (int(action_space.n),)

    def sample(self) -> torch.Tensor:
        return self.dist.sample() + self.start

    def deterministic_sample(self) -> torch.Tensor:
        return self.logits.argmax(dim=-1) + self.start

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.dist.log_prob(actions.long() - self.start)


class MultiCategoricalProbabilityDistribution(ProbabilityDistribution):
    """MultiDiscrete(nvec): one categorical per dimension, logits concatenated to ``(sum(nvec),)``."""

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.MultiDiscrete):
        super().__init__(logits, action_space)
        self.nvec = [int(n) for n in np.asarray(action_space.nvec).reshape(-1)]
        self.dists = [td.Categorical(logits=chunk) for chunk in torch.split(logits, self.nvec, dim=-1)]

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.MultiDiscrete) -> Tuple[int, ...]:
        if np.asarray(action_space.nvec).ndim != 1:
            raise ValueError(f"MultiDiscrete action spaces must be 1-d, got nvec shape "
                             f"{np.asarray(action_space.nvec).shape}")
        return (int(np.sum(action_space.nvec)),)

    def sample(self) -> torch.Tensor:
        return torch.stack([d.sample() for d in self.dists], dim=-1)

    def deterministic_sample(self) -> torch.Tensor:
        return torch.stack([d.logits.argmax(dim=-1) for d in self.dists], dim=-1)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return sum(d.log_prob(actions[..., i].long()) for i, d in enumerate(self.dists))

    def entropy(self) -> torch.Tensor:
        return sum(d.entropy() for d in self.dists)


class BernoulliProbabilityDistribution(TorchDistribution):
    """MultiBinary(shape): independent Bernoullis, logits of the space's shape."""

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.MultiBinary):
        super().__init__(logits, action_space)
        n_event = len(action_space.shape)
        self.dist = td.Independent(td.Bernoulli(logits=logits), n_event)

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.MultiBinary) -> Tuple[int, ...]:
        return tuple(int(d) for d in action_space.shape)

    def deterministic_sample(self) -> torch.Tensor:
        return (self.logits > 0).to(self.logits.dtype)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.dist.log_prob(actions.to(self.logits.dtype))


def _split_mean_log_std(logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    mean, log_std = torch.chunk(logits, 2, dim=-1)
    return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)


class DiagonalGaussianProbabilityDistribution(TorchDistribution):
    """Box(n,): a diagonal Gaussian; logits are ``[mean, log_std]`` concatenated, shape ``(2n,)``.

    Samples are unbounded; the env side clips them into the Box bounds.
    """

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Box):
        super().__init__(logits, action_space)
        self.mean, log_std = _split_mean_log_std(logits)
        self.dist = td.Independent(td.Normal(self.mean, log_std.exp()), 1)

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.Box) -> Tuple[int, ...]:
        if len(action_space.shape) != 1:
            raise ValueError(f"{cls.__name__} supports 1-d Box action spaces, got shape {action_space.shape}")
        return (2 * int(action_space.shape[0]),)

    def deterministic_sample(self) -> torch.Tensor:
        return self.mean


class SquashedGaussianProbabilityDistribution(TorchDistribution):
    """Box(n,) with finite bounds: ``low + (tanh(u) + 1) / 2 * (high - low)``, u ~ diagonal Gaussian.

    The log-prob includes the change-of-variables term of the tanh and of the affine map,
    so it is the density of the action actually sent to the env.
    """

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Box):
        super().__init__(logits, action_space)
        self.mean, log_std = _split_mean_log_std(logits)
        low = torch.as_tensor(action_space.low, dtype=logits.dtype)
        high = torch.as_tensor(action_space.high, dtype=logits.dtype)
        if not (torch.isfinite(low).all() and torch.isfinite(high).all()):
            raise ValueError(f"{type(self).__name__} needs finite Box bounds, got low={action_space.low} "
                             f"high={action_space.high}")
        base = td.Normal(self.mean, log_std.exp())
        transforms = [td.TanhTransform(cache_size=1),
                      td.AffineTransform(loc=(high + low) / 2, scale=(high - low) / 2)]
        self.dist = td.Independent(td.TransformedDistribution(base, transforms), 1)
        self._bound_eps = 1e-6 * (high - low) / 2
        self._low, self._high = low, high

    required_logits_shape = DiagonalGaussianProbabilityDistribution.required_logits_shape

    def sample(self) -> torch.Tensor:
        return self.dist.sample()

    def deterministic_sample(self) -> torch.Tensor:
        scale = (self._high - self._low) / 2
        return torch.tanh(self.mean) * scale + (self._high + self._low) / 2

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        # atanh is infinite at the bounds: keep stored actions strictly inside them.
        clipped = torch.max(torch.min(actions, self._high - self._bound_eps), self._low + self._bound_eps)
        return self.dist.log_prob(clipped)

    def entropy(self) -> torch.Tensor:
        """No closed form after the tanh: the base Gaussian's entropy (as SAC-style methods use)."""
        return self.dist.base_dist.base_dist.entropy().sum(-1)


class DictProbabilityDistribution:
    """The joint distribution of all action heads of one sub-step (heads independent)."""

    def __init__(self, distributions: Dict[str, ProbabilityDistribution]):
        self.distributions = distributions

    def sample(self) -> Dict[str, torch.Tensor]:
        return {key: dist.sample() for key, dist in self.distributions.items()}

    def deterministic_sample(self) -> Dict[str, torch.Tensor]:
        return {key: dist.deterministic_sample() for key, dist in self.distributions.items()}

    def log_prob(self, actions: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return sum(dist.log_prob(actions[key]) for key, dist in self.distributions.items())

    def entropy(self) -> torch.Tensor:
        return sum(dist.entropy() for dist in self.distributions.values())


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

    def required_logits_shape(self, action_head: str) -> Tuple[int, ...]:
        """Shape (without batch dims) of the logits the policy net must output for ``action_head``."""
        return self._logits_shapes[action_head]

    @property
    def logits_shapes(self) -> Dict[str, Tuple[int, ...]]:
        """``{action_head: logits shape}``: what a policy network's ``action_logit_shapes`` receives."""
        return dict(self._logits_shapes)

    def action_head_to_distribution(self, action_head: str, logits: torch.Tensor) -> ProbabilityDistribution:
        return self.head_distributions[action_head](logits, self.action_space[action_head])

    def logits_dict_to_distribution(self, logits_dict: Mapping[str, torch.Tensor]) -> DictProbabilityDistribution:
        return DictProbabilityDistribution({head: self.action_head_to_distribution(head, logits_dict[head])
                                            for head in self.head_distributions})

    def __repr__(self) -> str:
        heads = ", ".join(f"{h}: {c.__name__}" for h, c in self.head_distributions.items())
        return f"DistributionMapper({heads})"


__all__: List[str] = [
    "ProbabilityDistribution", "CategoricalProbabilityDistribution", "MultiCategoricalProbabilityDistribution",
    "BernoulliProbabilityDistribution", "DiagonalGaussianProbabilityDistribution",
    "SquashedGaussianProbabilityDistribution", "DictProbabilityDistribution", "DistributionMapper",
    "import_dotted",
]
