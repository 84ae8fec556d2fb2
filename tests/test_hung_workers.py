"""A hung simulator is killed after runner.step_timeout_s and named; the run stops with its checkpoints
intact, or replaces the worker and completes (on_worker_failure=restart)."""
import csv
import os
import time

from cli_helpers import REPO, maze_run, only_run_dir
from maze_cli.train.checkpoint import load_checkpoint

HANG = ["env._target_=faulty_envs.hanging_cartpole", "~env.name", "runner=local", "runner.n_workers=2",
        "runner.step_timeout_s=2", "algorithm.n_epochs=3", "algorithm.epoch_length=4",
        "algorithm.n_rollout_steps=50", "algorithm.eval_repeats=2", "selection.confirm_episodes=0"]
# (no confirmation episodes: each env counts its own steps, and the hang at step 300 is meant for a training
# worker in epoch 2, not for an evaluation env that confirmation episodes would take past step 300 earlier)
ENV = {"PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
# Ray's workers import the test envs too
RAY_ENV = f"runner.runtime_env={{env_vars:{{PYTHONPATH:'{REPO}{os.pathsep}{REPO / 'tests'}'}}}}"


def test_hung_step_stops_the_run_naming_the_worker_within_the_timeout(run_root):
    start = time.monotonic()
    result = maze_run(HANG + ["+env.hang_at=300"], run_root, env=ENV)
    elapsed = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    assert "did not finish step 300 within 2 s (runner.step_timeout_s); it was killed" in result.stderr
    assert "env worker" in result.stderr and "(pid " in result.stderr
    assert elapsed < 60  # the 3600 s hang did not hold the run
    run = only_run_dir(run_root)
    rows = list(csv.DictReader(open(run / "stats.csv")))
    assert [int(r["epoch"]) for r in rows] == [1]  # 4 x 50 steps per epoch: the hang is in epoch 2
    for name in ("best.pt", "last.pt"):
        assert load_checkpoint(run / "checkpoints" / name)["epoch"] == 1


def test_hung_step_with_restart_replaces_the_worker_and_completes(run_root):
    once = run_root / "hung-once"
    result = maze_run(HANG + ["+env.hang_at=300", f"+env.once_file={once}", "runner.on_worker_failure=restart"],
                      run_root, env=ENV)
    assert result.returncode == 0, result.stderr
    assert once.exists()
    assert "restarting it with fresh envs (restart 1 of 3)" in result.stderr
    rows = list(csv.DictReader(open(only_run_dir(run_root) / "stats.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["time/worker_restarts"]) for r in rows] == [0.0, 1.0, 1.0], result.stderr


def test_hung_ray_worker_is_replaced_and_the_run_completes(run_root, ray_session):
    once = run_root / "hung-once"
    result = maze_run(["env._target_=faulty_envs.hanging_cartpole", "~env.name", "+env.hang_at=150",
                       f"+env.once_file={once}", "runner=ray", "runner.num_workers=2", "runner.step_timeout_s=0.5", RAY_ENV,
                       "algorithm.n_epochs=2", "algorithm.epoch_length=4", "algorithm.n_rollout_steps=20",
                       "algorithm.eval_repeats=2"], run_root, env=ENV)
    assert result.returncode == 0, result.stderr
    assert "did not deliver its rollout of 20 steps within 10 s (runner.step_timeout_s per step)" in result.stderr
    rows = list(csv.DictReader(open(only_run_dir(run_root) / "stats.csv")))
    # at least the hung actor was restarted (a slow first rollout on a loaded machine may add one)
    assert [int(r["epoch"]) for r in rows] == [1, 2] and float(rows[-1]["time/worker_restarts"]) >= 1.0


def test_hung_ray_worker_stops_the_run_with_on_worker_failure_stop(run_root, ray_session):
    result = maze_run(["env._target_=faulty_envs.hanging_cartpole", "~env.name", "+env.hang_at=150",
                       "runner=ray", "runner.num_workers=2", "runner.step_timeout_s=0.25", RAY_ENV,
                       "runner.on_worker_failure=stop", "algorithm.n_epochs=2", "algorithm.epoch_length=4",
                       "algorithm.n_rollout_steps=20"], run_root, env=ENV)
    assert result.returncode == 1
    assert "did not deliver its rollout of 20 steps within 5 s (runner.step_timeout_s per step); it was killed" \
        in result.stderr
