"""A2C learns the structured packing example to within 10% of its known optimum (return 1.0),
with a shared (stacked) critic and with one critic per sub-step, for three fixed seeds."""
import csv

import numpy as np
import pytest

from maze_cli import RunContext
from maze_cli.envs import PackingEnv
from maze_cli.envs.packing import OPTIMAL_RETURN

N_ENVS, N_ROLLOUT_STEPS, EPOCH_LENGTH = 32, 10, 25
FLAT_STEPS_PER_EPOCH = N_ENVS * N_ROLLOUT_STEPS * EPOCH_LENGTH // 2  # two decisions per flat step
BUDGET_FLAT_STEPS = 48_000
SETTINGS = {"runner.n_envs": N_ENVS, "algorithm.n_rollout_steps": N_ROLLOUT_STEPS,
            "algorithm.epoch_length": EPOCH_LENGTH, "algorithm.lr": 0.002, "algorithm.gamma": 0.99,
            "algorithm.entropy_coef": 0.01, "algorithm.eval_repeats": 100, "algorithm.deterministic_eval": True,
            "algorithm.patience": 100}


def random_policy_return(n_episodes: int = 1000) -> float:
    env = PackingEnv()
    returns = []
    for episode in range(n_episodes):
        env.reset(seed=episode)
        for space in env.action_spaces_dict.values():
            space.seed(episode)
        done, total = False, 0.0
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total, done = total + reward, terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def test_random_policy_is_far_from_the_optimum():
    assert 0.25 < random_policy_return() < 0.45


@pytest.mark.learning
@pytest.mark.parametrize("critic", ["shared", "step"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a2c_packs_within_ten_percent_of_the_optimum(run_root, critic, seed):
    rc = RunContext(env="packing", algorithm="a2c", critic=critic, runner="dev", overrides=SETTINGS, seed=seed)
    best = rc.train(n_epochs=BUDGET_FLAT_STEPS // FLAT_STEPS_PER_EPOCH)

    with open(rc.run_dir / "stats.csv") as f:
        rows = list(csv.DictReader(f))
    assert int(rows[-1]["time/env_steps"]) == BUDGET_FLAT_STEPS  # env steps of structured envs are flat steps
    assert float(rows[-1]["train/episode_length_mean"]) == 2.0  # episodes last n_bins = 2 flat steps
    # The policy RunContext keeps is the selected best one; re-evaluate it on 200 fresh episodes.
    mean_return = rc.evaluate(n_episodes=200, deterministic=True)["eval/episode_return_mean"]
    assert best >= 0.9 * OPTIMAL_RETURN and mean_return >= 0.9 * OPTIMAL_RETURN, (critic, seed, best, mean_return)
    assert mean_return > random_policy_return() + 0.4
