"""Structured envs end to end: the CLI (dev and local runners) and RunContext, with Discrete-then-Box sub-steps,
plus the example env's claims (known optimum, flat-step statistics through LogStatsWrapper)."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from maze_cli import (CategoricalProbabilityDistribution, DiagonalGaussianProbabilityDistribution, LogStatsWrapper,
                      RunContext)
from maze_cli.envs import PackingEnv
from maze_cli.envs.packing import OPTIMAL_RETURN

REPO = Path(__file__).resolve().parents[1]
TINY = ["algorithm.n_epochs=2", "algorithm.epoch_length=3", "algorithm.n_rollout_steps=8"]


def run_cli(args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run([sys.executable, "-m", "maze_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def stats_of(run_root):
    runs = [p for p in run_root.glob("outputs/*/*") if p.is_dir()]
    assert len(runs) == 1, runs
    with open(runs[0] / "stats.csv") as f:
        return runs[0], list(csv.DictReader(f))


def best_fit_action(obs, actor_id):
    """The known-optimal policy: the largest item that still fits somewhere, into the tightest bin it fits."""
    if actor_id[0] == 0:
        items = np.where(obs["items"] <= obs["free"].max() + 1e-6, obs["items"], -1.0)
        return {"item": int(np.argmax(items))}
    free = np.where(obs["free"] >= obs["item"][0] - 1e-6, obs["free"], np.inf)
    return {"bin": int(np.argmin(free))}


def test_packing_optimum_is_one_and_statistics_count_flat_steps():
    env = LogStatsWrapper.wrap(PackingEnv(n_bins=3, n_decoys=2), logging_prefix="eval")
    assert env.observation_spaces_dict[0]["items"].shape == (5,) and env.agent_counts_dict == {0: 1, 1: 1}
    for episode in range(200):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(best_fit_action(obs, env.actor_id()))
            done = terminated or truncated
    stats = env.get_stats()
    assert stats["eval/episode_return_min"] == pytest.approx(OPTIMAL_RETURN, abs=1e-5)
    assert stats["eval/episode_length_mean"] == 3  # 3 flat steps of 2 sub-steps each


def test_packing_defaults_out_of_the_box(run_root):
    """``maze-run env=packing algorithm=a2c`` with every setting but the number of epochs at its default."""
    result = run_cli(["env=packing", "algorithm=a2c", "algorithm.n_epochs=1"], run_root)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir, rows = stats_of(run_root)
    assert len(rows) == 1 and int(rows[0]["time/env_steps"]) == 25 * 100 * 4 // 2
    config = OmegaConf.load(run_dir / "config.yaml")
    assert config.critic.stack_observations is True


@pytest.mark.parametrize("critic", ["shared", "step"])
def test_discrete_then_box_sub_steps_train_from_the_cli_with_env_workers(run_root, critic):
    """Sub-step 0 is Discrete with 2 observation keys of shape (3,), (2,); sub-step 1 a Box action with (1,), (2,)."""
    result = run_cli(["env=packing", "env.bin_action=continuous", f"critic={critic}", "runner=local",
                      "runner.n_workers=2", *TINY], run_root)
    assert result.returncode == 0, result.stderr[-3000:]
    _, rows = stats_of(run_root)
    assert len(rows) == 2 and int(rows[-1]["time/env_steps"]) == 2 * 3 * 2 * 8 // 2
    assert np.isfinite(float(rows[-1]["losses/policy_loss"]))


def test_discrete_then_box_sub_steps_train_through_run_context(run_root):
    rc = RunContext(env=lambda: PackingEnv(bin_action="continuous"), critic="step", runner="dev",
                    overrides={"algorithm.n_epochs": 2, "algorithm.epoch_length": 3, "algorithm.n_rollout_steps": 8})
    rc.train()
    mappers = rc.policy.distribution_mappers
    assert mappers[0].head_distributions["item"] is CategoricalProbabilityDistribution
    assert mappers[1].head_distributions["bin"] is DiagonalGaussianProbabilityDistribution
    env = PackingEnv(bin_action="continuous")
    obs, _ = env.reset(seed=0)
    item = rc.compute_action(obs, env.actor_id())
    obs, *_ = env.step(item)
    placement = rc.compute_action(obs, env.actor_id())
    assert set(item) == {"item"} and set(placement) == {"bin"} and placement["bin"].shape == (1,)
    assert rc.evaluate(n_episodes=3)["eval/episode_count"] == 3


def test_bad_sub_step_in_cli_config_is_one_line_naming_it(run_root):
    result = run_cli(["env=packing", "policy.substeps_with_separate_agent_nets=[3]", *TINY], run_root)
    assert result.returncode == 1
    assert "names sub-step 3" in result.stderr and "Traceback" not in result.stderr
    result = run_cli(["env=packing", "critic.stack_observations=false", *TINY], run_root)
    assert result.returncode == 1
    assert "sub-step 1's observation space differs from sub-step 0's" in result.stderr
