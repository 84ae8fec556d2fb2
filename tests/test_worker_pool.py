"""Env worker processes with several envs each: same results as in-process envs, clear failures."""
import multiprocessing
import os
import signal
import time

import gymnasium as gym
import numpy as np
import pytest

from maze_cli.envs import EnvError, EnvWorkerDied, GymMazeEnv, make_vector_env


class SeedAwareEnv(GymMazeEnv):
    """CartPole that reports in its info which reset seed it got, and raises in step if told to."""

    def __init__(self, raise_for_seed=None):
        super().__init__("CartPole-v1")
        self.raise_for_seed = raise_for_seed
        self.seed = None

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.seed = seed
        obs, info = super().reset(seed=seed, options=options)
        return obs, dict(info, seed=self.seed)

    def step(self, action):
        if self.seed == self.raise_for_seed:
            raise ZeroDivisionError("physics exploded")
        obs, reward, terminated, truncated, info = super().step(action)
        if terminated:
            info = dict(info, ended_in={"seed": self.seed})
        return obs, reward, terminated, truncated, info


def _rollout(venv, n_steps=300, active=None):
    rng = np.random.default_rng(0)
    first = venv.reset(seed=10)
    trace = [first.observations[0]["observation"].copy()]
    for t in range(n_steps):
        mask = None if active is None else active[t % len(active)]
        step = venv.step({0: {"action": rng.integers(0, 2, size=venv.num_envs)}}, mask)
        final = {env: obs["observation"].copy() for env, (obs, _) in step.final.items()}
        trace.append((step.observations[0]["observation"].copy(), step.rewards.copy(), step.terminated.copy(),
                      step.truncated.copy(), step.valid.copy(), final))
    venv.close()
    return trace


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


def test_worker_groups_step_exactly_like_in_process_envs():
    """2 workers x 2 envs: observations, rewards, flags, autoresets and final observations equal in-process envs'."""
    pooled = _rollout(make_vector_env(SeedAwareEnv, 4, "subprocess", envs_per_worker=2))
    local = _rollout(make_vector_env(SeedAwareEnv, 4, "sequential"))
    _assert_same(pooled, local)
    # The run saw episode ends of every env (so autoreset and final observations were exercised).
    assert set().union(*(step[5] for step in pooled[1:])) == {0, 1, 2, 3}
    # env i got seed 10 + i: the same first observations as envs reset with those seeds one by one
    for index in range(4):
        obs, _ = SeedAwareEnv().reset(seed=10 + index)
        np.testing.assert_array_equal(pooled[0][index], obs["observation"])


ACTIVE = [np.array(m, dtype=bool) for m in ([1, 1, 1, 1], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 1])]


def test_only_active_envs_step_and_a_worker_without_any_is_not_asked():
    """Envs left out of ``active`` keep their state (the next step continues where they were), get no
    reward and are not valid; in worker processes exactly as in-process, also when a whole worker idles."""
    local_env = make_vector_env(SeedAwareEnv, 4, "sequential")
    assert type(local_env).__name__ == "SequentialVectorEnv"
    local = _rollout(local_env, active=ACTIVE)
    pooled = _rollout(make_vector_env(SeedAwareEnv, 4, "subprocess", envs_per_worker=2), active=ACTIVE)
    _assert_same(pooled, local)
    for t, (observations, rewards, terminated, truncated, valid, final) in enumerate(local[1:]):
        idle = ~ACTIVE[t % len(ACTIVE)]
        assert (valid == ~idle).all() and (rewards[idle] == 0).all() and not (terminated | truncated)[idle].any()
        before = local[t] if t == 0 else local[t][0]
        np.testing.assert_array_equal(observations[idle], before[idle])
    assert set().union(*(step[5] for step in local[1:])) == {0, 1, 2, 3}


def test_env_raising_names_worker_env_and_step():
    venv = make_vector_env(lambda: SeedAwareEnv(raise_for_seed=3), 4, "subprocess", envs_per_worker=2)
    venv.reset(seed=0)
    with pytest.raises(EnvError, match=r"env worker 1 \(env 3: .*\) raised in step at step 1: "
                                       r"ZeroDivisionError: physics exploded"):
        venv.step({0: {"action": np.zeros(4, dtype=np.int64)}})
    venv.close()


def test_killed_worker_is_reported_at_once_and_close_does_not_hang():
    venv = make_vector_env(SeedAwareEnv, 4, "subprocess", envs_per_worker=2)
    venv.reset(seed=0)
    os.kill(venv.processes[1].pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(EnvWorkerDied, match=rf"env worker 1 \(pid {venv.processes[1].pid}\) died with exit code -9"):
        venv.step({0: {"action": np.zeros(4, dtype=np.int64)}})
    venv.close()
    assert time.monotonic() - start < 5
    assert not any(process.is_alive() for process in venv.processes)


def test_envs_per_worker_must_be_positive_and_the_last_worker_takes_the_rest():
    with pytest.raises(ValueError, match=r"envs_per_worker=0 must be >= 1"):
        make_vector_env(SeedAwareEnv, 4, "subprocess", envs_per_worker=0)
    uneven = _rollout(make_vector_env(SeedAwareEnv, 5, "subprocess", envs_per_worker=2), n_steps=50)
    _assert_same(uneven, _rollout(make_vector_env(SeedAwareEnv, 5, "sequential"), n_steps=50))


def test_unsupported_spaces_are_refused_with_the_reason():
    class SequenceObsEnv(GymMazeEnv):
        def __init__(self):
            super().__init__("CartPole-v1")
            self.observation_spaces_dict = {0: gym.spaces.Dict({"observation": gym.spaces.Sequence(gym.spaces.Discrete(3))})}

    with pytest.raises(ValueError, match="fixed-size shared memory, which observation space .*Sequence.* do not fit"):
        make_vector_env(SequenceObsEnv, 2, "subprocess")


def test_env_that_cannot_be_built_in_a_worker_is_reported_and_no_worker_is_left():
    parent = os.getpid()

    def factory():
        if os.getpid() != parent:
            raise FileNotFoundError("simulator licence file missing")
        return SeedAwareEnv()

    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(EnvError, match="env worker 0 raised FileNotFoundError: simulator licence file missing"):
        make_vector_env(factory, 2, "subprocess")
    assert {p.pid for p in multiprocessing.active_children()} <= before
