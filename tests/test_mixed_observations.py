"""A Dict observation mixing a uint8 image, a vector, a Discrete key and an action mask trains through the
CLI and RunContext (the env refuses masked actions, so acting, rollout and evaluation all apply the mask);
MiniGrid learns from its grid view with the shipped preset; Atari runs PPO updates on preprocessed frames."""
import csv

import pytest
import torch

from cli_helpers import maze_run, only_run_dir
from maze_cli import RunContext


def _rows(run_dir):
    with open(run_dir / "stats.csv") as f:
        return list(csv.DictReader(f))


def test_mixed_observation_dict_trains_and_rolls_out_through_the_cli(run_root):
    result = maze_run(["+experiment=quadrant_ppo", "algorithm.n_epochs=1", "algorithm.epoch_length=2"], run_root)
    assert result.returncode == 0, result.stderr[-2000:]
    run = only_run_dir(run_root)
    assert int(_rows(run)[-1]["time/env_steps"]) == 2 * 64 * 8
    rollout = maze_run(["-cn", "rollout", f"input_dir={run}", "n_episodes=3"], run_root)
    assert rollout.returncode == 0, rollout.stderr[-2000:]  # the env raises on a masked action


@pytest.mark.learning
def test_mixed_observation_dict_learns_through_run_context(run_root):
    """Optimal return 8, random about 2.7 with one wrong action masked: the image and the cue must both be read."""
    rc = RunContext(experiment="quadrant_ppo", overrides={"algorithm.n_epochs": 3}, seed=3)
    best = rc.train()
    rows = _rows(rc.run_dir)
    assert int(rows[-1]["time/env_steps"]) == 3 * 8 * 64 * 8
    assert best >= 7.5, [r["eval/episode_return_mean"] for r in rows]


@pytest.mark.learning
@pytest.mark.parametrize("seed", [1, 2])
def test_minigrid_preset_reaches_a_mean_return_of_0_9(run_root, seed):
    """The shipped +experiment=minigrid_ppo, cut to 5 of its 14 epochs (51,200 env steps; the full run is
    benchmarks/minigrid_learning.py)."""
    pytest.importorskip("minigrid")
    rc = RunContext(experiment="minigrid_ppo", overrides={"algorithm.n_epochs": 5}, seed=seed)
    rc.train()
    rows = _rows(rc.run_dir)
    assert int(rows[-1]["time/env_steps"]) == 5 * 10_240
    assert float(rows[-1]["eval/episode_return_mean"]) >= 0.9, [r["eval/episode_return_mean"] for r in rows]


def test_atari_runs_ppo_updates_on_uint8_frames(run_root):
    pytest.importorskip("ale_py")
    rc = RunContext(experiment="atari_ppo", runner="dev", seed=1, overrides={
        "runner.n_envs": 2, "algorithm.n_rollout_steps": 32, "algorithm.epoch_length": 2, "algorithm.batch_size": 32,
        "algorithm.n_optimization_epochs": 2})
    rc.train(n_epochs=1)
    rows = _rows(rc.run_dir)
    assert int(rows[-1]["time/env_steps"]) == 2 * 32 * 2
    assert float(rows[-1]["losses/policy_loss"]) == float(rows[-1]["losses/policy_loss"])  # finite, not NaN
    space = rc.env_factory().observation_spaces_dict[0]["observation"]
    assert space.shape == (4, 84, 84) and str(space.dtype) == "uint8"


def test_rollout_storage_keeps_images_uint8_and_masks_int8(run_root):
    rc = RunContext(experiment="quadrant_ppo", seed=1)
    parts = rc.components
    collector = parts.runner.make_collector(parts.env_factory, parts.policy, None, 16, 0, parts.probe_env)
    try:
        batch = collector.collect()
    finally:
        collector.close()
    observations = batch.observations[0]
    assert observations["image"].dtype == torch.uint8 and observations["image"].shape == (16, 8, 16, 16, 3)
    assert observations["action_mask"].dtype == torch.int8
    taken = batch.actions[0]["action"].long()
    assert observations["action_mask"].gather(-1, taken.unsqueeze(-1)).all()  # no masked action stored
