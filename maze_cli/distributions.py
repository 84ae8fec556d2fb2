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
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

import gymnasium as gym
import numpy as np
import torch
from torch import distributions as td

from maze_cli.core.imports import import_dotted

# Building distribution objects in the acting loop is hot: argument validation costs more
# than the sampling itself and the network outputs are finite by construction.
td.Distribution.set_default_validate_args(False)

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


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

    @classmethod
    def init_parameters(cls, action_space: gym.Space) -> Dict[str, torch.Tensor]:
        """Initial values of the head's state-independent learnable parameters, by constructor argument name.

        The policy holds them (one set per network) and passes them to the constructor; none by default.
        """
        return {}

    def to_env_action(self, sample: torch.Tensor) -> np.ndarray:
        """A (batch of) sample(s) as the env expects it: inside the space, in the space's dtype."""
        return np.asarray(sample.detach().cpu().numpy(), dtype=self.action_space.dtype)

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


class CategoricalProbabilityDistribution(ProbabilityDistribution):
    """Discrete(n): logits of shape ``(n,)``.

    Computed directly from the normalised log-probabilities rather than through a
    ``torch.distributions.Categorical``: it is the same distribution, but building that object
    at every acting step cost more than the policy network's forward pass.
    """

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Discrete):
        super().__init__(logits, action_space)
        self.log_probs = torch.log_softmax(logits, dim=-1)
        self.start = int(action_space.start)

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.Discrete) -> Tuple[int, ...]:
        return (int(action_space.n),)

    def sample(self) -> torch.Tensor:
        probs = self.log_probs.exp()
        flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1)
        return flat.reshape(probs.shape[:-1]) + self.start

    def deterministic_sample(self) -> torch.Tensor:
        return self.logits.argmax(dim=-1) + self.start

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        index = (actions.long() - self.start).unsqueeze(-1)
        return self.log_probs.gather(-1, index).squeeze(-1)

    def entropy(self) -> torch.Tensor:
        # p * log p is 0 where p underflows to 0 (log p = -inf): clamp the log to the smallest finite value.
        log_p = self.log_probs.clamp(min=torch.finfo(self.log_probs.dtype).min)
        return -(log_p.exp() * log_p).sum(-1)


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


class GaussianHead(TorchDistribution):
    """Shared by the Gaussian heads: the network outputs the mean ``(n,)`` of a 1-d Box; the
    log-std is a state-independent parameter the policy owns (initialised to :attr:`INIT_LOG_STD`)."""

    INIT_LOG_STD = 0.0

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.Box) -> Tuple[int, ...]:
        if not isinstance(action_space, gym.spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"{cls.__name__} supports 1-d Box action spaces, got {action_space}")
        return (int(action_space.shape[0]),)

    @classmethod
    def init_parameters(cls, action_space: gym.spaces.Box) -> Dict[str, torch.Tensor]:
        return {"log_std": torch.full(cls.required_logits_shape(action_space), cls.INIT_LOG_STD)}


class DiagonalGaussianProbabilityDistribution(GaussianHead):
    """Box(n,): a diagonal Gaussian whose mean comes from the network, shape ``(n,)``.

    The log-std is a learnable parameter of the policy, the same for every observation
    (initialised to :attr:`INIT_LOG_STD`). Samples are unbounded, so that the log-prob of the
    stored sample is exact; :meth:`to_env_action` clips them into the Box bounds.

    :param logits: the mean, ``(*batch, n)``.
    :param action_space: a 1-d Box.
    :param log_std: ``(n,)`` log standard deviations (clamped to ``[LOG_STD_MIN, LOG_STD_MAX]``).
    """

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Box, log_std: torch.Tensor):
        super().__init__(logits, action_space)
        self.mean = logits
        self.std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp().expand_as(logits)
        self.dist = td.Independent(td.Normal(self.mean, self.std), 1)
        self._low = torch.as_tensor(action_space.low, dtype=logits.dtype)
        self._high = torch.as_tensor(action_space.high, dtype=logits.dtype)

    def deterministic_sample(self) -> torch.Tensor:
        return self.mean

    def to_env_action(self, sample: torch.Tensor) -> np.ndarray:
        return super().to_env_action(torch.max(torch.min(sample, self._high), self._low))


class SquashedGaussianProbabilityDistribution(GaussianHead):
    """Box(n,) with finite bounds: action ``a = c + s * tanh(u)``, ``u`` ~ diagonal Gaussian.

    ``c = (high + low) / 2`` and ``s = (high - low) / 2``. Samples are the pre-squash ``u``
    (stored by rollouts and scored by :meth:`log_prob`, which avoids inverting ``tanh`` at the
    bounds); :meth:`to_env_action` squashes them. :meth:`log_prob` is the density of the action
    ``a`` the env receives, by the change of variables
    ``log p(a) = log N(u) - sum log(s * (1 - tanh(u)^2))``.

    :param logits: the mean of ``u``, ``(*batch, n)``.
    :param action_space: a 1-d Box with finite bounds.
    :param log_std: ``(n,)`` log standard deviations of ``u``.
    """

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Box, log_std: torch.Tensor):
        super().__init__(logits, action_space)
        low = torch.as_tensor(action_space.low, dtype=logits.dtype)
        high = torch.as_tensor(action_space.high, dtype=logits.dtype)
        if not (torch.isfinite(low).all() and torch.isfinite(high).all()):
            raise ValueError(f"{type(self).__name__} needs finite Box bounds, got low={action_space.low} "
                             f"high={action_space.high}")
        self.mean = logits
        self.dist = td.Independent(td.Normal(logits, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp()
                                             .expand_as(logits)), 1)
        self._center, self._scale = (high + low) / 2, (high - low) / 2

    def squash(self, u: torch.Tensor) -> torch.Tensor:
        """The env action of a pre-squash sample."""
        return self._center + self._scale * torch.tanh(u)

    def deterministic_sample(self) -> torch.Tensor:
        return self.mean

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """Log-density of the squashed action, given the stored pre-squash sample ``u``."""
        # log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)), exact where tanh(u) rounds to +-1.
        log_dtanh = 2.0 * (math.log(2.0) - actions - torch.nn.functional.softplus(-2.0 * actions))
        return self.dist.log_prob(actions) - (log_dtanh + torch.log(self._scale)).sum(-1)

    def entropy(self) -> torch.Tensor:
        """The entropy of ``u``: the squashed action's entropy has no closed form (it is ``H(u) + E[log|da/du|]``)."""
        return self.dist.entropy()

    def to_env_action(self, sample: torch.Tensor) -> np.ndarray:
        return super().to_env_action(self.squash(sample))


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
        self._init_parameters = {head: dict(cls.init_parameters(action_space[head]))
                                 for head, cls in self.head_distributions.items()}

    def required_logits_shape(self, action_head: str) -> Tuple[int, ...]:
        """Shape (without batch dims) of the logits the policy net must output for ``action_head``."""
        return self._logits_shapes[action_head]

    @property
    def logits_shapes(self) -> Dict[str, Tuple[int, ...]]:
        """``{action_head: logits shape}``: what a policy network's ``action_logit_shapes`` receives."""
        return dict(self._logits_shapes)

    def init_parameters(self) -> Dict[str, Dict[str, torch.Tensor]]:
        """``{action_head: {name: initial tensor}}`` of the heads with state-independent parameters."""
        return {head: {name: value.clone() for name, value in params.items()}
                for head, params in self._init_parameters.items() if params}

    def action_head_to_distribution(self, action_head: str, logits: torch.Tensor,
                                    parameters: Optional[Mapping[str, torch.Tensor]] = None) -> ProbabilityDistribution:
        """The head's distribution; ``parameters`` default to the initial ones (a policy passes its learned ones)."""
        params = self._init_parameters[action_head] if parameters is None else parameters
        return self.head_distributions[action_head](logits, self.action_space[action_head], **params)

    def logits_dict_to_distribution(self, logits_dict: Mapping[str, torch.Tensor],
                                    parameters: Optional[Mapping[str, Mapping[str, torch.Tensor]]] = None
                                    ) -> DictProbabilityDistribution:
        parameters = parameters or {}
        return DictProbabilityDistribution({
            head: self.action_head_to_distribution(head, logits_dict[head], parameters.get(head))
            for head in self.head_distributions})

    def __repr__(self) -> str:
        heads = ", ".join(f"{h}: {c.__name__}" for h, c in self.head_distributions.items())
        return f"DistributionMapper({heads})"


__all__: List[str] = [
    "ProbabilityDistribution", "CategoricalProbabilityDistribution", "MultiCategoricalProbabilityDistribution",
    "BernoulliProbabilityDistribution", "DiagonalGaussianProbabilityDistribution",
    "SquashedGaussianProbabilityDistribution", "DictProbabilityDistribution", "DistributionMapper",
]
