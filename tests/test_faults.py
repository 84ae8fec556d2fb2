"""Faults during training lose nothing: checkpoints and stats written before the fault still load."""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from cli_helpers import REPO, default_sigint, maze_run, only_run_dir
from faulty_envs import failing_cartpole
from maze_cli import RunContext
from maze_cli.envs import EnvError, EnvWorkerDied
from maze_cli.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from maze_cli.train.interrupts import NonFiniteTrainingError

# 3 epochs x 5 updates x 20 steps x 4 envs = 1200 steps per env ... each env fails after its own count
# evaluation as in the tutorial (2 sampled episodes), so the faulty envs' step counts per process stay predictable
EPOCH = {"algorithm.epoch_length": 5, "algorithm.n_rollout_steps": 20, "algorithm.n_epochs": 5,
         "algorithm.eval_repeats": 2, "algorithm.deterministic_eval": False, "algorithm.stop_at_return": None}


def assert_run_intact(run_dir, min_epochs):
    rows = list(csv.DictReader(open(run_dir / "stats.csv")))
    assert len(rows) >= min_epochs
    for name in ("best.pt", "last.pt"):
        state = load_checkpoint(run_dir / "checkpoints" / name)
        assert all(torch.isfinite(v).all() for v in state["policy"].values())  # normalisation buffers included
        assert all(torch.isfinite(v).all() for v in (state["normalization"] or {}).values())
    assert load_checkpoint(run_dir / "checkpoints/last.pt")["epoch"] == len(rows)


@pytest.mark.parametrize("runner, mode, error, message", [
    ("dev", "raise", EnvError, r"env worker \d \(GymMazeEnv\('CartPole-v1'\)\) raised in step at step 250: "
                               r"RuntimeError: the simulator diverged"),
    ("dev", "reset", EnvError, r"raised in reset at step \d+: RuntimeError: the simulator lost its license"),
    ("local", "raise", EnvError, r"env worker \d .*raised in step at step 250: RuntimeError"),
    ("local", "kill", EnvWorkerDied, r"env worker \d \(pid \d+\) died with exit code -9"),
])
def test_env_failure_stops_the_run_naming_worker_and_keeps_what_was_written(run_root, runner, mode, error, message):
    # each env fails at its 250th step: after 2 full epochs (2 x 5 x 20 = 200 steps per env)
    rc = RunContext(env=lambda: failing_cartpole(250, mode), runner=runner,
                    overrides={**EPOCH, **({"runner.n_workers": 2} if runner == "local" else {})})
    with pytest.raises(error, match=message):
        rc.train()
    assert_run_intact(rc.run_dir, min_epochs=2)


def test_nan_rewards_skip_updates_then_stop_with_the_last_good_checkpoint(run_root):
    rc = RunContext(env=lambda: failing_cartpole(250, "nan"), overrides={**EPOCH, "max_nonfinite_updates": 3})
    with pytest.raises(NonFiniteTrainingError, match="3 updates in a row had a non-finite loss or gradient"):
        rc.train()
    assert_run_intact(rc.run_dir, min_epochs=2)
    # the weights in memory were never updated with NaN either
    assert all(torch.isfinite(p).all() for p in rc.policy.parameters())


@pytest.mark.parametrize("normalization", ["none", "obs_norm"])
def test_nan_observations_stop_the_run_with_finite_checkpoints_and_statistics(run_root, normalization):
    # NaN from the third update of epoch 3 on: epochs 3 and 4 end with their updates skipped and are saved
    rc = RunContext(env=lambda: failing_cartpole(250, "nan_obs"),
                    overrides={**EPOCH, "max_nonfinite_updates": 10, "normalization": normalization})
    with pytest.raises(NonFiniteTrainingError, match="Check the env's rewards and observations for NaN/inf"):
        rc.train()
    assert_run_intact(rc.run_dir, min_epochs=2)


def test_a_single_nan_update_is_skipped_and_training_goes_on(run_root):
    rc = RunContext(env="cartpole", overrides={"algorithm.n_epochs": 1, "algorithm.epoch_length": 3})
    rc.train()
    gradient_step = rc.trainer.algorithm.gradient_step
    before = {k: v.clone() for k, v in rc.policy.state_dict().items()}
    for _ in range(2):
        assert torch.isnan(torch.tensor(gradient_step(torch.tensor(float("nan"), requires_grad=True))))
    assert gradient_step.nonfinite_in_a_row == 2
    assert all(torch.equal(before[k], v) for k, v in rc.policy.state_dict().items())
    rc.train(n_epochs=1)  # a finite update resets the count
    assert gradient_step.nonfinite_in_a_row == 0
    rows = list(csv.DictReader(open(rc.run_dir / "stats.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2], "a second train() appends to the run's stats"


def _start_long_run(run_root, extra=()):
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "maze_cli", "env._target_=faulty_envs.slow_cartpole", "~env.name",
         "algorithm.n_epochs=1000", "algorithm.epoch_length=5", "algorithm.n_rollout_steps=20", *extra],
        cwd=run_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint)


def _wait_for_epochs(run_root, n, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = list(run_root.glob("outputs/*/*/stats.csv"))
        if stats and len(stats[0].read_text().splitlines()) > n:
            return
        time.sleep(0.2)
    raise AssertionError(f"no {n} epochs within {timeout}s")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_last_checkpoint_and_resume_continues_the_epoch_count(run_root, sig, code):
    proc = _start_long_run(run_root)
    _wait_for_epochs(run_root, 2)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, output
    assert "Traceback" not in output and "resume with input_dir=" in output
    run = only_run_dir(run_root)
    state = load_checkpoint(run / "checkpoints/last.pt")
    rows = list(csv.DictReader(open(run / "stats.csv")))
    assert state["epoch"] == len(rows) >= 2
    assert_run_intact(run, min_epochs=2)

    resumed = maze_run(["env._target_=faulty_envs.slow_cartpole", "~env.name", "algorithm.n_epochs=1",
                        "algorithm.epoch_length=5", "algorithm.n_rollout_steps=20", f"input_dir={run}"],
                       cwd=run_root, env={"PYTHONPATH": f"{REPO}:{REPO / 'tests'}"})
    assert resumed.returncode == 0, resumed.stderr
    new_run = next(p for p in run_root.glob("outputs/*/*") if p != run)
    new_rows = list(csv.DictReader(open(new_run / "stats.csv")))
    # the resumed run goes on with the next epoch; its stats.csv carries the earlier rows over
    assert [int(r["epoch"]) for r in new_rows] == list(range(1, len(rows) + 2))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_shutdown_after_a_finished_run_exits_at_once_without_a_traceback(run_root, sig, code):
    """A signal arriving while atexit callbacks run (Ray's shutdown, say) once gave exit 0 and an "Exception
    ignored" traceback; the atexit callback here sends it after the run has finished."""
    script = ("import atexit, os, sys, time\n"
              f"atexit.register(lambda: (os.kill(os.getpid(), {int(sig)}), time.sleep(30)))\n"
              "from maze_cli.cli import main\n"
              "sys.argv = ['maze-run', 'runner=dev', 'algorithm.n_epochs=1', 'algorithm.epoch_length=1',"
              " 'algorithm.n_rollout_steps=8', 'algorithm.eval_repeats=1']\n"
              "main()\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=run_root, capture_output=True, text=True, timeout=25,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, preexec_fn=default_sigint)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    run = only_run_dir(run_root)
    assert load_checkpoint(run / "checkpoints/last.pt")["epoch"] == 1


class NotATensor:
    """Any object other than tensors and plain data must never be unpickled from a checkpoint."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_checkpoint_with_a_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"policy": {}, "payload": NotATensor()}, path)
    with pytest.raises(CheckpointError, match="holds objects other than tensors and plain data"):
        load_checkpoint(path)


def test_truncated_checkpoint_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"policy": {"w": torch.ones(100)}, "epoch": 3})
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="corrupted, truncated"):
        load_checkpoint(path)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1})

    def crash(obj, f, *args, **kwargs):
        open(f, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"], "no temporary file left behind"


def test_loading_into_different_networks_names_the_first_mismatching_parameter(run_root):
    small = RunContext(env="cartpole", overrides={"algorithm.n_epochs": 1, "algorithm.epoch_length": 2})
    small.train()
    result = maze_run(["algorithm.n_epochs=1", "policy.networks.hidden_units=[32,32]", f"input_dir={small.run_dir}",
                       "resume.allow_changes=true"], cwd=run_root)
    assert result.returncode == 1
    assert "parameter 'networks.0.trunk.0.weight' has shape (64, 4) in the checkpoint but (32, 4)" in result.stderr
