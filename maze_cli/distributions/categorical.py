"""Categorical heads (Discrete, MultiDiscrete), with optional action masks."""
from __future__ import annotations

import functools
from typing import Optional, Tuple

import gymnasium as gym
import numpy as np
import torch

from maze_cli.distributions.base import ProbabilityDistribution


def apply_mask(logits: torch.Tensor, mask: Optional[torch.Tensor], what: str) -> torch.Tensor:
    """``logits`` with the entries a boolean-like ``mask`` forbids set to the dtype's minimum.

    Raises naming the batch rows where the mask allows no action at all: no distribution exists there.
    """
    if mask is None:
        return logits
    if tuple(mask.shape) != tuple(logits.shape):
        raise ValueError(f"{what}: action mask of shape {tuple(mask.shape)} does not match the logits' "
                         f"{tuple(logits.shape)}")
    allowed = mask if mask.dtype == torch.bool else mask != 0
    empty = ~allowed.any(dim=-1)
    if bool(empty.any()):
        rows = [tuple(index) for index in empty.nonzero().tolist()][:5]
        raise ValueError(f"{what}: the action mask allows no action in batch row(s) {rows}: every state must "
                         f"leave at least one valid action")
    return logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)


class CategoricalProbabilityDistribution(ProbabilityDistribution):
    """Discrete(n): logits of shape ``(n,)``, optionally masked.

    Computed directly from the normalised log-probabilities rather than through a
    ``torch.distributions.Categorical``: it is the same distribution, but building that object
    at every acting step cost more than the policy network's forward pass.

    :param mask: ``(*batch, n)``, true (or non-zero) where the action is allowed. Forbidden
        actions get the dtype's smallest logit, so their probability is exactly 0: they are never
        sampled or the mode, and log-probs and entropy are those of the renormalised valid actions.
    """

    supports_mask = True

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.Discrete,
                 mask: Optional[torch.Tensor] = None):
        if mask is not None:  # the name is formatted only when needed: this runs at every acting step
            logits = apply_mask(logits, mask, f"Discrete({int(action_space.n)}) head")
        super().__init__(logits, action_space)
        self.start = int(action_space.start)

    @functools.cached_property
    def log_probs(self) -> torch.Tensor:
        """Normalised log-probabilities; computed on first use, since acting only samples."""
        return torch.log_softmax(self.logits, dim=-1)

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.Discrete) -> Tuple[int, ...]:
        return (int(action_space.n),)

    def sample(self) -> torch.Tensor:
        """The action maximising ``p / q`` with ``q ~ Exp(1)``: the Gumbel-max trick in exponential form.

        It is exactly what ``torch.multinomial(p, 1)`` draws (the same samples from the same generator state),
        without its checks of the probabilities, whose reductions and host syncs cost twice the draw itself.
        """
        probs = torch.softmax(self.logits, dim=-1)
        return self._action((probs / torch.empty_like(probs).exponential_()).argmax(dim=-1))

    def deterministic_sample(self) -> torch.Tensor:
        return self._action(self.logits.argmax(dim=-1))

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        # always a new tensor, even for start 0: gather saves the index for backward, and recorded actions
        # stored under inference mode may not be saved as they are
        index = (actions.long() - self.start).unsqueeze(-1)
        return self.log_probs.gather(-1, index).squeeze(-1)

    def _action(self, index: torch.Tensor) -> torch.Tensor:
        """The action of a logits index (shifted by the space's ``start``; no op for the usual start 0)."""
        return index + self.start if self.start else index

    def entropy(self) -> torch.Tensor:
        # p * log p is 0 where p underflows to 0 (log p = -inf): clamp the log to the smallest finite value.
        log_p = self.log_probs.clamp(min=torch.finfo(self.log_probs.dtype).min)
        return -(log_p.exp() * log_p).sum(-1)


class MultiCategoricalProbabilityDistribution(ProbabilityDistribution):
    """MultiDiscrete(nvec): one categorical per dimension, logits concatenated to ``(sum(nvec),)``.

    :param mask: ``(*batch, sum(nvec))``, the dimensions' masks concatenated like the logits.
    """

    supports_mask = True

    def __init__(self, logits: torch.Tensor, action_space: gym.spaces.MultiDiscrete,
                 mask: Optional[torch.Tensor] = None):
        super().__init__(logits, action_space)
        self.nvec = [int(n) for n in np.asarray(action_space.nvec).reshape(-1)]
        starts = np.asarray(action_space.start).reshape(-1)
        masks = torch.split(mask, self.nvec, dim=-1) if mask is not None else [None] * len(self.nvec)
        if mask is not None and tuple(mask.shape) != tuple(logits.shape):
            raise ValueError(f"MultiDiscrete({self.nvec}) head: action mask of shape {tuple(mask.shape)} does not "
                             f"match the logits' {tuple(logits.shape)}")
        self.dists = [CategoricalProbabilityDistribution(chunk, gym.spaces.Discrete(n, start=int(start)), chunk_mask)
                      for chunk, n, start, chunk_mask in zip(torch.split(logits, self.nvec, dim=-1), self.nvec,
                                                             starts, masks)]

    @classmethod
    def required_logits_shape(cls, action_space: gym.spaces.MultiDiscrete) -> Tuple[int, ...]:
        if np.asarray(action_space.nvec).ndim != 1:
            raise ValueError(f"MultiDiscrete action spaces must be 1-d, got nvec shape "
                             f"{np.asarray(action_space.nvec).shape}")
        return (int(np.sum(action_space.nvec)),)

    def sample(self) -> torch.Tensor:
        return torch.stack([d.sample() for d in self.dists], dim=-1)

    def deterministic_sample(self) -> torch.Tensor:
        return torch.stack([d.deterministic_sample() for d in self.dists], dim=-1)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return sum(d.log_prob(actions[..., i]) for i, d in enumerate(self.dists))

    def entropy(self) -> torch.Tensor:
        return sum(d.entropy() for d in self.dists)
