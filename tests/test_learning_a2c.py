"""A2C with the tutorial's hyper-parameters solves CartPole-v1 within a fixed step budget."""
import csv

import pytest

from learning_helpers import REPORT_MARGIN, assert_reached
from maze_cli import A2CAlgorithmConfig, RunContext

BUDGET_STEPS = 150_000
N_ENVS = 4


def tutorial_a2c(n_epochs: int) -> A2CAlgorithmConfig:
    """The tutorial's hyper-parameters; evaluation is deterministic over 10 episodes."""
    return A2CAlgorithmConfig(
        n_epochs=n_epochs, epoch_length=25, deterministic_eval=True, eval_repeats=10, patience=15,
        critic_burn_in_epochs=0, n_rollout_steps=100, lr=0.0005, gamma=0.98, gae_lambda=1.0,
        policy_loss_coef=1.0, value_loss_coef=0.5, entropy_coef=0.00025, max_grad_norm=0.0, device="cpu")


@pytest.mark.learning
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a2c_solves_cartpole_within_150k_steps(run_root, seed):
    steps_per_epoch = 25 * 100 * N_ENVS
    rc = RunContext(env="cartpole", algorithm=tutorial_a2c(BUDGET_STEPS // steps_per_epoch), runner="dev",
                    overrides={"runner.n_envs": N_ENVS}, seed=seed)
    best = rc.train()

    with open(rc.run_dir / "stats.csv") as f:
        rows = list(csv.DictReader(f))
    assert int(rows[-1]["time/env_steps"]) <= BUDGET_STEPS
    assert_reached(rows, best, 475)
    # the policy RunContext keeps is the selected best one: 10 fresh episodes match what the run reported
    fresh = rc.evaluate(n_episodes=10, deterministic=True)["eval/episode_return_mean"]
    assert abs(fresh - best) <= REPORT_MARGIN * 475, (fresh, best)
