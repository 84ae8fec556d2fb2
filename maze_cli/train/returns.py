"""Discounted returns and generalised advantage estimation (GAE)."""
from __future__ import annotations

from typing import Tuple

import torch


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, terminated: torch.Tensor,
                episode_end: torch.Tensor, gamma: float, gae_lambda: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """GAE(lambda) advantages and value targets for a ``(T, n_envs)`` rollout.

    TD(lambda) in advantage form: ``delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)``
    and ``A_t = delta_t + gamma * lambda * (1 - episode_end_t) * A_{t+1}``.
    ``values`` has ``T + 1`` rows: row ``t + 1`` is the value of the observation that step ``t``
    returned. When an episode was *truncated* at step ``t`` that observation is its final one,
    so the time limit is bootstrapped; when it *terminated* nothing is bootstrapped. Either way
    the lambda-chain stops at the episode end. ``lambda = 1`` gives Monte-Carlo returns
    bootstrapped at the rollout end, ``lambda = 0`` one-step TD.

    :param rewards: ``(T, n)`` rewards.
    :param values: ``(T + 1, n)`` state values, the last row for the rollout's final observations.
    :param terminated: ``(T, n)`` true where the episode ended in a terminal state.
    :param episode_end: ``(T, n)`` true where the episode ended (terminated or truncated).
    :returns: ``(advantages, returns)``, each ``(T, n)``; ``returns = advantages + values[:-1]``.
    """
    not_terminal = 1.0 - terminated.to(values.dtype)
    continues = 1.0 - episode_end.to(values.dtype)
    deltas = rewards + gamma * values[1:] * not_terminal - values[:-1]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * gae_lambda * continues[t] * running
        advantages[t] = running
    return advantages, advantages + values[:-1]
