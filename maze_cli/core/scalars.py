"""Constants as cached 0-dim tensors, for the arithmetic of the loss and the distributions.

A Python float in a tensor op becomes a float64 0-dim tensor that the op casts to the other operand's dtype
on every call, and again in the backward pass of ops such as ``mul``, ``clamp`` and ``mean``: about 1.5 µs
a cast on CPU, 25 casts a PPO minibatch step before this module. A 0-dim tensor of the operand's dtype is
used as it is. The values are the same (the cast rounds the float as ``torch.tensor`` does), so results are
bit for bit those of the Python-float expressions.
"""
from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=1024)  # bounded: a scheduled clip range is a new value at every update
def scalar(value: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``value`` as a 0-dim CPU tensor of ``dtype`` (usable with tensors on any device); never modify it."""
    with torch.inference_mode(False):  # a tensor made under inference mode could not be saved for backward
        return torch.tensor(value, dtype=dtype)


def mean(values: torch.Tensor) -> torch.Tensor:
    """``values.mean()`` over all elements, computed as ``mean`` does (sum, then divide by the count)
    without its cast of the count, forward and backward."""
    return values.sum() / scalar(float(values.numel()), values.dtype)


def squared(values: torch.Tensor) -> torch.Tensor:
    """``values ** 2`` as ``pow`` computes it, without the cast of the exponent in backward.

    Only where ``values`` feeds nothing else: a tensor used elsewhere too would receive the product's two
    gradients separately and sum its gradients in another order than with ``pow``.
    """
    return values * values
