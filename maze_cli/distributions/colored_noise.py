"""Temporally correlated exploration noise for Gaussian action heads (off-policy algorithms).

White noise (a fresh standard normal per step) makes a torque that averages out within a few steps, so a
task that needs a push held for many steps, such as MountainCarContinuous, is rarely explored. Colored noise
keeps each step's marginal a standard normal but correlates it over time: its power falls off with frequency
as ``1 / f ** beta`` (``beta = 0`` white, ``1`` pink, ``2`` red). Eberhard et al., "Pink Noise Is All You Need"
(ICLR 2023), found pink noise a good default for SAC, TD3 and MPO. An off-policy algorithm may act with
it because it learns from whatever actions were taken; on-policy algorithms must not (their log-probs assume
independent samples).
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import torch

from maze_cli.distributions.base import ProbabilityDistribution
from maze_cli.distributions.continuous import GaussianHead


def colored_sequences(beta: float, shape: Tuple[int, ...], length: int, rng: np.random.Generator) -> np.ndarray:
    """``shape + (length,)`` Gaussian sequences with power spectrum ``1 / f ** beta``, each scaled to unit variance.

    Built in the frequency domain: random complex amplitudes scaled by ``f ** (-beta / 2)``, then the inverse real
    FFT. The constant component is dropped, so every sequence has mean zero.
    """
    frequencies = np.fft.rfftfreq(length)
    scale = np.zeros_like(frequencies)
    scale[1:] = frequencies[1:] ** (-beta / 2.0)
    amplitudes = (rng.standard_normal(shape + (len(frequencies),))
                  + 1j * rng.standard_normal(shape + (len(frequencies),))) * scale
    sequences = np.fft.irfft(amplitudes, n=length, axis=-1)
    return sequences / sequences.std(axis=-1, keepdims=True)


class ColoredNoise:
    """Per action head, one colored sequence per batch entry and action element, handed out a step at a time.

    :param beta: the spectrum's exponent (0 white, 1 pink, 2 red).
    :param length: steps per generated block; the slowest correlation spans about this many steps, so use the
        env's episode length. A new block starts when one is used up or the batch shape changes.
    :param seed: seeds the generator.
    """

    def __init__(self, beta: float, length: int = 1000, seed: int = 0):
        if beta < 0:
            raise ValueError(f"colored noise: beta={beta} is invalid: expected a value >= 0 (0 white, 1 pink, 2 red)")
        self.beta, self.length = float(beta), int(length)
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Start afresh from ``seed``: a copy of the policy in another process (a Ray rollout worker) must not
        replay the learner's sequences."""
        self._rng = np.random.default_rng(seed)
        self._blocks: Dict[str, Tuple[np.ndarray, int]] = {}

    def next(self, head: str, shape: torch.Size) -> torch.Tensor:
        """The next step's standard-normal noise of ``shape`` (batch and event dims) for ``head``."""
        block, position = self._blocks.get(head, (None, 0))
        if block is None or block.shape[:-1] != tuple(shape) or position == self.length:
            block, position = colored_sequences(self.beta, tuple(shape), self.length, self._rng), 0
        self._blocks[head] = (block, position + 1)
        return torch.as_tensor(block[..., position], dtype=torch.float32)

    def sample(self, head: str, dist: ProbabilityDistribution) -> torch.Tensor:
        """The head's next action sample: Gaussian heads take their draws from this noise, others sample as usual."""
        if not isinstance(dist, GaussianHead):
            return dist.sample()
        return dist.sample_with(self.next(head, dist.mean.shape))
