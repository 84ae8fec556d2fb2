"""Reward scaling (normalize_rewards): rewards divided by the running std of each env's discounted return."""
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from maze_cli import RunContext
from maze_cli.algorithms.reward_scaling import RewardScaler


@dataclass
class Rewards:
    """The three fields of a RolloutBatch the scaler reads; time-major (T, n_envs)."""
    rewards: torch.Tensor
    valid: torch.Tensor
    episode_end: torch.Tensor


def rollout(rewards, ends, valid=None):
    rewards = torch.tensor(rewards, dtype=torch.float32)
    return Rewards(rewards, torch.ones_like(rewards, dtype=torch.bool) if valid is None else torch.tensor(valid),
                   torch.tensor(ends))


def test_rewards_are_divided_by_the_std_of_discounted_returns_that_restart_at_episode_ends():
    scaler = RewardScaler(gamma=0.5, epsilon=0.0)
    # env 0 ends its episode at t=1; env 1 runs on
    batch = rollout([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]], [[False, False], [True, False], [False, False]])
    scaled = scaler(batch)
    returns = np.array([1.0, 2.5, 3.0, 1.0, 1.5, 1.75])  # env 0: 1, 0.5 + 2, then 3 afresh; env 1: 1, 1.5, 1.75
    assert scaler.scale == pytest.approx(returns.std())
    assert torch.allclose(scaled.rewards, batch.rewards / returns.std())
    # the next rollout continues env 1's return (1.75) and merges its statistics with the first rollout's
    scaler(rollout([[0.0, 1.0]], [[False, False]]))
    assert scaler.scale == pytest.approx(np.append(returns, [3.0 * 0.5, 1.75 * 0.5 + 1.0]).std())


def test_invalid_cells_are_not_counted():
    scaler = RewardScaler(gamma=1.0, epsilon=0.0)
    scaler(rollout([[1.0], [0.0], [3.0]], [[True], [False], [False]], valid=[[True], [False], [True]]))
    assert scaler.moments.count == 2 and scaler.scale == pytest.approx(np.std([1.0, 3.0]))


def test_nan_rewards_leave_the_scale_finite(maze_log):
    scaler = RewardScaler(gamma=1.0, epsilon=0.0)
    # env 1's NaN reward makes its return NaN until its episode ends at t=1; env 0 counts throughout
    scaler(rollout([[1.0, float("nan")], [3.0, 5.0], [2.0, 4.0]], [[False, False], [False, True], [False, False]]))
    assert scaler.moments.count == 4 and scaler.scale == pytest.approx(np.std([1.0, 4.0, 6.0, 4.0]))
    assert "reward scaling: 2 discounted return(s) hold NaN or inf" in "\n".join(maze_log)


def test_the_scaler_state_is_checkpointed_and_a_resumed_run_continues_with_it(run_root):
    overrides = {"algorithm.n_epochs": 1, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 20,
                 "algorithm.eval_repeats": 1, "algorithm.normalize_rewards": True}
    rc = RunContext(env="cartpole", seed=1, overrides=overrides)
    rc.train()
    saved = torch.load(rc.run_dir / "checkpoints" / "last.pt", weights_only=False)
    state = saved["reward_scaler"]
    first = state["count"]  # 2 updates x 20 steps x 4 envs, less the reset steps of autoreset (no transition)
    assert 150 <= first <= 2 * 20 * 4 and state["var"] > 0
    resumed = RunContext(overrides={"input_dir": str(rc.run_dir), "algorithm.n_epochs": 2})
    resumed.train()
    again = torch.load(resumed.run_dir / "checkpoints" / "last.pt", weights_only=False)
    state = again["reward_scaler"]
    assert state["count"] >= first + 150  # continued from the saved statistics, not restarted
