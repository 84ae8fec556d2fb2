"""The experiment presets learn their env within a budget of env steps (fixed seeds, figures from stats.csv).

Each run uses the preset unchanged except for the number of epochs (as many as fit in the
budget) and ``stop_at_return`` (stop at the threshold). The threshold applies to the
deterministic evaluation's mean return over the preset's 10 episodes.
"""
import csv

import pytest

from learning_helpers import assert_reached
from maze_cli import RunContext
from maze_cli.distributions import GSDENoise


def train_preset(run_root, preset: str, seed: int, threshold: float, budget: int):
    probe = RunContext(experiment=preset, output_dir=run_root)
    algo, runner = probe.config.algorithm, probe.config.runner
    steps_per_epoch = algo.epoch_length * algo.n_rollout_steps * runner.n_envs
    rc = RunContext(experiment=preset, seed=seed, output_dir=run_root,
                    overrides={"algorithm.n_epochs": budget // steps_per_epoch, "algorithm.stop_at_return": threshold})
    assert rc.config.algorithm.deterministic_eval and rc.config.algorithm.eval_repeats == 10
    best = rc.train()
    with open(rc.run_dir / "stats.csv") as f:
        rows = list(csv.DictReader(f))
    assert int(rows[-1]["time/env_steps"]) <= budget
    assert_reached(rows, best, threshold)
    return rc


@pytest.mark.learning
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ppo_solves_cartpole_within_100k_steps(run_root, seed):
    train_preset(run_root, "cartpole_ppo", seed, threshold=475.0, budget=100_000)


@pytest.mark.learning
@pytest.mark.parametrize("seed", [11, 12])
def test_a2c_preset_solves_cartpole_within_its_150k_steps(run_root, seed):
    """The shipped preset as a user runs it (15 epochs, stop once solved), on seeds it was not tuned on (1-10)."""
    train_preset(run_root, "cartpole_a2c", seed, threshold=475.0, budget=150_000)


@pytest.mark.learning
@pytest.mark.parametrize("seed", [1, 2])
def test_acrobot_ppo_reaches_minus_100_within_200k_steps(run_root, seed):
    train_preset(run_root, "acrobot_ppo", seed=seed, threshold=-100.0, budget=200_000)


@pytest.mark.learning
@pytest.mark.parametrize("seed", [11, 13])
def test_acrobot_a2c_stays_solved(run_root, seed):
    """Without reward scaling these seeds solved Acrobot and then fell back to -500 (a deterministic policy
    stuck swinging one way) within 100k env steps; a solved run must stay solved to its last epoch."""
    rc = RunContext(experiment="acrobot_a2c", seed=seed, output_dir=run_root,
                    overrides={"algorithm.n_epochs": 10, "algorithm.stop_at_return": None, "algorithm.patience": 11})
    rc.train()
    with open(rc.run_dir / "stats.csv") as f:
        returns = [float(r["eval/episode_return_mean"]) for r in csv.DictReader(f)]
    solved = next(i for i, value in enumerate(returns) if value >= -100)
    assert min(returns[solved:]) >= -150 and returns[-1] >= -120, returns


@pytest.mark.learning
@pytest.mark.parametrize("seed", [26, 28])
def test_ppo_finds_the_flag_of_mountain_car_continuous_within_10k_steps(run_root, seed):
    """The RL Zoo's figure (88) at half its budget (20k), on seeds the preset was not tuned on (1-20)."""
    train_preset(run_root, "mountain_car_continuous_ppo", seed=seed, threshold=88.0, budget=10_240)


@pytest.mark.learning
@pytest.mark.parametrize("seed", [4, 5])
def test_ppo_with_gsde_reaches_the_zoos_pendulum_figure_within_half_its_budget(run_root, seed):
    """The RL Zoo's -172 (at 100k) within 50k env steps, on seeds the preset was not tuned on (1-3); with
    independent Gaussian noise the same preset reached it on 3 of 5 held-out seeds."""
    rc = train_preset(run_root, "pendulum_ppo", seed=seed, threshold=-172.0, budget=50_000)
    assert rc.policy.observation_normalizer is None  # raw observations: running statistics made it worse
    assert isinstance(rc.policy.exploration_noise, GSDENoise)
