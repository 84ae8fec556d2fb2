"""Reward scaling: rewards divided by the running standard deviation of each env's discounted return.

Value targets then stay near unit scale whatever the env's reward scale (Acrobot's -1 per step sums to
returns of -100 and more), so the value loss does not dominate a shared gradient norm or the critic's
learning rate. This is the reward half of Stable-Baselines3's ``VecNormalize`` (Engstrom et al. 2020 found
it among PPO's most important code-level choices); the discounted return, not the reward, sets the
scale, and the mean is not subtracted, so the sign of every reward is kept.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Dict

import numpy as np
import torch

from maze_cli.models.normalization import RunningMoments
from maze_cli.train.batch import RolloutBatch

logger = logging.getLogger("maze_cli")


class RewardScaler:
    """Running variance of every env's discounted return, updated from each rollout before it is scaled.

    :param gamma: the discount of the returns whose scale is tracked (the algorithm's).
    :param epsilon: added to the variance (keeps constant-reward envs finite).
    """

    def __init__(self, gamma: float, epsilon: float = 1e-8):
        self.gamma = gamma
        self.epsilon = epsilon
        self.moments = RunningMoments(())
        self.returns = np.zeros(0)  # each env's discounted return so far in its current episode

    def __call__(self, batch: RolloutBatch) -> RolloutBatch:
        """Updates the statistics with ``batch``'s rewards and returns the batch with scaled rewards."""
        rewards = batch.rewards.detach().cpu().numpy().astype(np.float64)
        valid = batch.valid.cpu().numpy()
        ends = batch.episode_end.cpu().numpy()
        if self.returns.shape != rewards.shape[1:]:
            self.returns = np.zeros(rewards.shape[1:])
        seen = []
        for t in range(rewards.shape[0]):  # a recurrence over time; vectorised over envs
            self.returns = self.returns * self.gamma + rewards[t]
            seen.append(self.returns[valid[t]])
            self.returns[ends[t]] = 0.0
        dropped = self.moments.update(torch.from_numpy(np.concatenate(seen)))
        if dropped:
            logger.warning(f"reward scaling: {dropped} discounted return(s) hold NaN or inf (from the env's "
                           f"rewards); they were left out of the scale's statistics")
        return replace(batch, rewards=batch.rewards / self.scale)

    @property
    def scale(self) -> float:
        """What rewards are divided by."""
        return float(torch.sqrt(self.moments.var + self.epsilon))

    def state_dict(self) -> Dict[str, Any]:
        return {**self.moments.state_dict(), "returns": torch.as_tensor(self.returns)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.moments.load_state_dict({key: torch.as_tensor(state[key], dtype=torch.float64)
                                      for key in ("mean", "var", "count")})
        self.returns = state["returns"].numpy()
