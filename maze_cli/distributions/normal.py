"""A diagonal Gaussian computed in plain tensor ops, for the Gaussian action heads.

``torch.distributions.Independent(Normal(loc, scale), 1)`` costs more to build than to use: each Gaussian head
is built once per acting step and once per minibatch, and the two objects' construction (broadcasting,
shape bookkeeping) took as long as sampling and scoring together. :class:`DiagonalNormal` does the same
arithmetic, in the same order, so a seeded run draws and scores exactly the same numbers as with
``torch.distributions`` (``tests/test_continuous_actions.py`` checks this bit for bit).
"""
from __future__ import annotations

import math

import torch

from maze_cli.core.scalars import scalar, squared

HALF_LOG_TWO_PI = math.log(math.sqrt(2 * math.pi))


class DiagonalNormal:
    """Independent normals over the last dim; ``log_prob`` and ``entropy`` sum over it.

    :param loc: the mean, ``(*batch, n)``.
    :param scale: the standard deviation, the same shape as ``loc``.
    """

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor):
        self.loc, self.scale = loc, scale

    def sample(self) -> torch.Tensor:
        with torch.no_grad():
            return torch.normal(self.loc, self.scale)

    def rsample(self) -> torch.Tensor:
        """A reparameterised sample: gradients flow to ``loc`` and ``scale``."""
        return self.loc + torch.empty_like(self.loc).normal_() * self.scale

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        var = self.scale ** 2  # pow, not squared: the scale also feeds log (see squared)
        dtype = self.loc.dtype
        return (-squared(value - self.loc) / (scalar(2.0, dtype) * var) - self.scale.log()
                - scalar(HALF_LOG_TWO_PI, dtype)).sum(-1)

    def entropy(self) -> torch.Tensor:
        return (scalar(0.5 + HALF_LOG_TWO_PI, self.loc.dtype) + torch.log(self.scale)).sum(-1)
