"""The Ray runner: actors' rollouts joined along the env axis, fresh weights every update, faults survived."""
import csv
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest
import ray.cloudpickle
import torch

from maze_cli import ConfigError, GymMazeEnv, RunContext
from maze_cli.build import build
from maze_cli.config_compose import compose_config
from maze_cli.envs import EnvError, EpisodeStats, make_vector_env
from maze_cli.envs.log_stats import merge_reduced_stats
from maze_cli.runners import RayRunner
from maze_cli.runners.ray import worker_seeds

# Env classes of this module travel to the actors by value (Ray workers cannot import test modules).
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

SHORT = {"algorithm.n_epochs": 3, "algorithm.epoch_length": 4, "algorithm.n_rollout_steps": 25,
         "algorithm.eval_repeats": 1}


def _components(seed=5):
    cfg, _ = compose_config(["env=cartpole", "runner=ray", f"seed={seed}"])
    return build(cfg)


def _flat(batch):
    obs = {k: v.reshape((-1,) + tuple(v.shape[2:])) for k, v in batch.observations[0].items()}
    actions = {k: v.reshape(-1) for k, v in batch.actions[0].items()}
    return obs, actions


def test_workers_have_own_seeds_and_act_with_the_weights_of_each_update(ray_session):
    c = _components()
    collector = RayRunner(num_workers=2, envs_per_worker=2).make_collector(c.env_factory, c.policy, c.critic,
                                                                         n_steps=30, seed=5)
    try:
        batches = []
        for _ in range(2):
            batch = collector.collect()
            batches.append(batch)
            assert batch.rewards.shape == (30, 4) and batch.values.shape == (30, 4) and batch.last_values.shape == (4,)
            obs, actions = _flat(batch)
            with torch.no_grad():
                # Log-probs and values the actors recorded are those of the learner's current weights.
                torch.testing.assert_close(c.policy.distribution(obs).log_prob(actions), batch.log_probs.reshape(-1))
                torch.testing.assert_close(c.critic.predict_value(obs), batch.values.reshape(-1))
                for p in c.policy.parameters():  # the learner's update: the next rollout must use the new weights
                    p.add_(0.3 * torch.randn_like(p))
                for p in c.critic.parameters():
                    p.add_(0.3 * torch.randn_like(p))
        assert collector.env_steps == 2 * 30 * 4
    finally:
        collector.close()

    first_obs = batches[0].observations[0]["observation"][0]
    for index in range(2):  # worker i's envs reset with seed + 2 * i, as envs 2i, 2i+1 of 4 in one process would
        reference = make_vector_env(c.env_factory, 2, "sequential", probe=c.probe_env)
        expected = reference.reset(seed=worker_seeds(5, index, 2)[0]).observations[0]
        np.testing.assert_array_equal(first_obs[2 * index:2 * index + 2].numpy(), expected["observation"])
    assert [worker_seeds(5, i, 2)[0] for i in range(3)] == [5, 7, 9]
    torch_seeds = {worker_seeds(5, i, 2)[1] for i in range(3)} | {worker_seeds(6, i, 2)[1] for i in range(3)}
    assert len(torch_seeds) == 6 and worker_seeds(5, 1, 2) == worker_seeds(5, 1, 2)


def test_episode_statistics_of_all_workers_reach_the_learner(ray_session):
    c = _components()
    collector = RayRunner(num_workers=2, envs_per_worker=2).make_collector(c.env_factory, c.policy, c.critic,
                                                                         n_steps=60, seed=5)
    try:
        ended = sum(int(collector.collect().episode_end.sum()) for _ in range(3))
        stats = collector.pop_episode_stats()
        assert ended > 8 and stats["train/episode_count"] == ended
        # CartPole pays 1 per step, so every episode's return equals its length.
        assert stats["train/episode_return_mean"] == pytest.approx(stats["train/episode_length_mean"])
        assert collector.pop_episode_stats()["train/episode_count"] == 0
    finally:
        collector.close()


def _rows(rc):
    with open(rc.run_dir / "stats.csv") as f:
        return list(csv.DictReader(f))


def test_killed_worker_process_is_restarted_and_the_run_completes(ray_session, run_root):
    rc = RunContext(env="cartpole", algorithm="a2c", runner="ray", overrides=SHORT, seed=3)
    killed = []

    def kill_worker_after_first_epoch():
        while rc.trainer is None or rc.trainer.collector is None or rc.trainer.epoch < 1:
            time.sleep(0.02)
        pid = rc.trainer.collector.worker_pids()[1]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_worker_after_first_epoch, daemon=True)
    killer.start()
    rc.train()
    killer.join(timeout=5)

    assert killed, "the worker was not killed during the run"
    rows = _rows(rc)
    assert [int(r["time/env_steps"]) for r in rows] == [4 * 25 * 2 * k for k in (1, 2, 3)]
    log = (rc.run_dir / "maze_cli.log").read_text()
    assert "ray rollout worker 1 failed" in log and "retrying this rollout once" in log
    assert (rc.run_dir / "checkpoints" / "best.pt").is_file()


class FlakyEnv(GymMazeEnv):
    """CartPole that raises at its ``fail_at``-th step: always, or only while ``marker`` does not exist yet."""

    def __init__(self, marker, fail_at, always):
        super().__init__("CartPole-v1")
        self.marker, self.fail_at, self.always, self.steps = marker, fail_at, always, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.fail_at and (self.always or not os.path.exists(self.marker)):
            open(self.marker, "w").close()
            raise OSError("simulator connection lost")
        return super().step(action)


class FlakyFactory:
    def __init__(self, marker, fail_at, always=False):
        self.args = (marker, fail_at, always)

    def __call__(self):
        return FlakyEnv(*self.args)


def test_env_raising_once_restarts_that_worker_and_retries_the_rollout(ray_session, run_root):
    rc = RunContext(env=FlakyFactory(str(run_root / "failed_once"), fail_at=30), algorithm="a2c", runner="ray",
                    overrides=SHORT, seed=3)
    rc.train()
    assert len(_rows(rc)) == 3
    log = (rc.run_dir / "maze_cli.log").read_text()
    assert "failed (EnvError: env worker 0 (" in log and "OSError: simulator connection lost" in log


def test_env_raising_again_after_the_restart_stops_the_run_naming_worker_and_env(ray_session, run_root):
    rc = RunContext(env=FlakyFactory(str(run_root / "marker"), fail_at=10, always=True), algorithm="a2c",
                    runner="ray", overrides=SHORT, seed=3)
    with pytest.raises(EnvError, match=r"ray rollout worker 0 failed again after a restart: EnvError: env worker 0 "
                                       r"\(GymMazeEnv\('CartPole-v1'\)\) raised in step at step 10: OSError: "
                                       r"simulator connection lost"):
        rc.train()
    assert not (rc.run_dir / "checkpoints" / "best.pt").exists()  # it failed before the first epoch ended


class LocalOnlyFactory:
    """Builds CartPole in the test process only: on an actor (another process) the env cannot be made."""

    def __init__(self):
        self.pid = os.getpid()

    def __call__(self):
        if os.getpid() != self.pid:
            raise FileNotFoundError("simulator licence missing on this node")
        return GymMazeEnv("CartPole-v1")


def test_env_that_cannot_be_built_on_an_actor_is_reported_naming_the_worker(ray_session, run_root):
    rc = RunContext(env=LocalOnlyFactory(), algorithm="a2c", runner="ray", overrides=SHORT, seed=3)
    with pytest.raises(EnvError, match=r"ray rollout worker \d could not be started: .*FileNotFoundError: "
                                       r"simulator licence missing on this node"):
        rc.train()


@pytest.mark.parametrize("key, value, message", [
    ("num_workers", 0, "runner.num_workers=0 is invalid: expected an integer >= 1"),
    ("envs_per_worker", 0, "runner.envs_per_worker=0 is invalid: expected an integer >= 1"),
    ("num_cpus_per_worker", 0, r"runner.num_cpus_per_worker=0(\.0)? is invalid: expected a number of CPUs > 0"),
    ("max_worker_restarts", -1, "runner.max_worker_restarts=-1 is invalid: expected an integer >= 0"),
])
def test_bad_ray_runner_values_name_key_and_expectation(key, value, message):
    with pytest.raises(ConfigError, match=message):
        RunContext(runner="ray", overrides={f"runner.{key}": value}).policy


def test_missing_ray_gives_one_line_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees without the extra
    with pytest.raises(ConfigError, match=r"^runner=ray needs Ray, which is not installed: "
                                          r'pip install "maze_cli\[ray\]"$'):
        RunContext(runner="ray").policy


def test_local_ray_instance_is_refused_when_workers_outnumber_the_cpus(monkeypatch):
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with pytest.raises(ConfigError, match=r"runner.num_workers=3 is invalid: expected at most 2 workers with "
                                          r"runner.num_cpus_per_worker=1.0 on this machine's 2 CPUs"):
        RayRunner(num_workers=3).connect()


def test_reduced_statistics_of_workers_merge_to_those_of_all_episodes():
    parts = []
    for returns in ([1.0, 3.0], [5.0], []):
        stats = EpisodeStats()
        stats.add_episodes(np.array(returns), np.array(returns, dtype=np.int64) * 2)
        parts.append(stats.reduce("train"))
    merged = merge_reduced_stats(parts, "train")
    # Episodes 1, 3, 5: mean 3, population std sqrt((4 + 0 + 4) / 3), lengths 2, 6, 10.
    assert merged == pytest.approx({
        "train/episode_return_mean": 3.0, "train/episode_return_std": (8 / 3) ** 0.5,
        "train/episode_return_min": 1.0, "train/episode_return_max": 5.0,
        "train/episode_length_mean": 6.0, "train/episode_count": 3.0})
    assert merged.keys() == parts[0].keys()
    empty = merge_reduced_stats([parts[2]], "train")
    assert empty["train/episode_count"] == 0 and np.isnan(empty["train/episode_return_mean"])
