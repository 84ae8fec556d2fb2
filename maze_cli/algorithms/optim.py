"""The gradient step every algorithm takes: backward, global-norm clipping, non-finite guard, optimiser step."""
from __future__ import annotations

import logging
import math
from typing import Iterable

import torch

from maze_cli.algorithms.adam import FusedAdam
from maze_cli.core.scalars import scalar
from maze_cli.train.interrupts import NonFiniteTrainingError

logger = logging.getLogger("maze_cli")


class GradientStep:
    """Applies losses to parameters with Adam; a non-finite loss or gradient is skipped, not applied.

    :param parameters: the parameters to train.
    :param lr: the initial learning rate.
    :param max_grad_norm: clip the global gradient norm to this value; 0 disables clipping.
    :param max_nonfinite_updates: after this many skipped updates in a row training stops with a clear error.
    """

    def __init__(self, parameters: Iterable[torch.nn.Parameter], lr: float, max_grad_norm: float = 0.0,
                 max_nonfinite_updates: int = 10):
        self.parameters = list(parameters)
        # fused: one kernel for all parameters instead of a Python loop of small ops per tensor
        self.optimizer = FusedAdam(self.parameters, lr=lr)
        self.max_grad_norm = max_grad_norm
        self.max_nonfinite_updates = max_nonfinite_updates
        self.nonfinite_in_a_row = 0
        self._one_group = len({(p.device, p.dtype) for p in self.parameters}) == 1

    def set_learning_rate(self, learning_rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate

    @torch.no_grad()
    def clip_gradients(self) -> torch.Tensor:
        """Scales the gradients to a global norm of at most ``max_grad_norm``; returns their norm before.

        ``torch.nn.utils.clip_grad_norm_``'s arithmetic, op for op, when all parameters share one device and
        dtype: its grouping of the gradients by device and dtype cost as much as the clipping at these sizes.
        """
        max_norm = self.max_grad_norm if self.max_grad_norm > 0 else float("inf")
        if not self._one_group:
            return torch.nn.utils.clip_grad_norm_(self.parameters, max_norm)
        grads = [p.grad for p in self.parameters if p.grad is not None]
        if not grads:
            return torch.tensor(0.0)
        total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        # max_norm / (total_norm + 1e-6) as torch evaluates it (reciprocal, then multiply), without the casts
        coefficient = (total_norm + scalar(1e-6)).reciprocal() * scalar(max_norm)
        torch._foreach_mul_(grads, torch.clamp(coefficient, max=1.0))
        return total_norm

    def __call__(self, loss: torch.Tensor) -> float:
        """Backward and step; returns the gradient norm (NaN for a skipped update)."""
        self.optimizer.zero_grad(set_to_none=True)
        # math.isfinite of the value: one host read instead of torch.isfinite's four ops and a read
        if math.isfinite(loss.item()):
            loss.backward()
            grad_norm = float(self.clip_gradients())
            if math.isfinite(grad_norm):
                self.optimizer.step()
                self.nonfinite_in_a_row = 0
                return grad_norm
            self.optimizer.zero_grad(set_to_none=True)
        self.nonfinite_in_a_row += 1
        logger.warning(f"skipped an update with a non-finite loss or gradient (loss {loss.item()}, "
                       f"{self.nonfinite_in_a_row} in a row)")
        if self.nonfinite_in_a_row >= self.max_nonfinite_updates:
            raise NonFiniteTrainingError(
                f"{self.nonfinite_in_a_row} updates in a row had a non-finite loss or gradient. Check the env's "
                f"rewards and observations for NaN/inf, lower algorithm.lr or set algorithm.max_grad_norm")
        return float("nan")
