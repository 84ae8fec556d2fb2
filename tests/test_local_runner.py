"""runner=local: env worker processes with several envs each, the same training as in-process, clear failures."""
import functools
import multiprocessing
import os
import signal
import threading
import time

import pytest
import torch

from maze_cli import ConfigError, RunContext
from maze_cli.envs import EnvWorkerDied
from maze_cli.envs.expensive import ExpensiveGymEnv
from maze_cli.train.checkpoint import load_checkpoint

SHORT = {"algorithm.n_epochs": 2, "algorithm.epoch_length": 5, "algorithm.n_rollout_steps": 20,
         "algorithm.eval_repeats": 1}
# Not a plain gymnasium id, so runner=dev steps these envs one by one in a SyncVectorEnv.
CARTPOLE_NOT_NATIVE = functools.partial(ExpensiveGymEnv, "CartPole-v1", step_cost_ms=0.0)


def _trained(runner, overrides):
    rc = RunContext(env=CARTPOLE_NOT_NATIVE, algorithm="a2c", runner=runner, overrides={**SHORT, **overrides},
                    seed=11)
    rc.train()
    return rc, {k: v.clone() for k, v in rc.policy.state_dict().items()}


def test_local_runner_trains_exactly_like_dev_with_the_same_seed(run_root):
    """Same env seeds, and actions are sampled in the main process: worker processes change nothing."""
    _, dev = _trained("dev", {"runner.n_envs": 4})
    rc, local = _trained("local", {"runner.n_workers": 2, "runner.envs_per_worker": 2})
    assert rc.components.runner.n_envs == 4
    assert all(torch.equal(dev[k], local[k]) for k in dev)


def _env_workers():
    return [p for p in multiprocessing.active_children() if p.name.startswith("maze-env-worker-")]


def test_killed_worker_stops_the_run_naming_it_and_keeps_the_best_checkpoint(run_root):
    rc = RunContext(env="cartpole", algorithm="a2c", runner="local",
                    overrides={**SHORT, "algorithm.n_epochs": 50, "runner.n_workers": 2}, seed=2)
    victim = []

    def kill_worker_1_after_first_epoch():
        while rc.run_dir is None or not (rc.run_dir / "checkpoints" / "best.pt").exists():
            time.sleep(0.02)
        process = next(p for p in _env_workers() if p.name == "maze-env-worker-1")
        victim.append(process.pid)
        os.kill(process.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_worker_1_after_first_epoch, daemon=True)
    killer.start()
    with pytest.raises(EnvWorkerDied) as died:
        rc.train()
    killer.join(timeout=5)
    assert str(died.value) == (f"env worker 1 (pid {victim[0]}) died with exit code -9; "
                               f"the run cannot continue without it")
    assert not _env_workers()  # the surviving worker was shut down too
    best = load_checkpoint(rc.run_dir / "checkpoints" / "best.pt")
    rc.policy.load_state_dict(best["policy"])


def test_n_workers_zero_means_one_worker_per_core():
    rc = RunContext(runner="local", overrides={"runner.envs_per_worker": 3})
    assert rc.policy is not None
    assert rc.components.runner.n_envs == 3 * os.cpu_count()


@pytest.mark.parametrize("key, value, message", [
    ("n_workers", -1, r"runner.n_workers=-1 is invalid: expected an integer >= 0 \(0 = one per core\)"),
    ("envs_per_worker", 0, "runner.envs_per_worker=0 is invalid: expected an integer >= 1"),
])
def test_bad_local_runner_values_name_key_and_expectation(key, value, message):
    with pytest.raises(ConfigError, match=message):
        RunContext(runner="local", overrides={f"runner.{key}": value}).policy
