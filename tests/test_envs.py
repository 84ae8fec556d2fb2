"""GymMazeEnv dict spaces, LogStatsWrapper statistics and vector-env worker errors."""
import os
import signal
import time

import gymnasium as gym
import numpy as np
import pytest

from maze_cli import GymMazeEnv, LogStatsWrapper, MazeEnv
from maze_cli.envs import EnvError, EnvWorkerDied, make_vector_env
from maze_cli.envs.vector import NativeVectorEnv, SequentialVectorEnv


def test_gym_maze_env_wraps_plain_spaces_in_one_key_dicts():
    env = GymMazeEnv("CartPole-v1")
    assert isinstance(env, MazeEnv)
    assert list(env.observation_spaces_dict) == [0] and list(env.action_spaces_dict) == [0]
    assert env.observation_space["observation"] == gym.make("CartPole-v1").observation_space
    assert env.action_space["action"] == gym.spaces.Discrete(2)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"observation"} and obs["observation"].shape == (4,)
    assert env.actor_id() == (0, 0) and env.agent_counts_dict == {0: 1}


def test_gym_maze_env_accepts_an_env_instance_and_keeps_dict_spaces():
    inner = gym.make("CartPole-v1")
    assert GymMazeEnv(env=inner).env is inner
    dict_env = gym.wrappers.FilterObservation(
        gym.make("CartPole-v1").unwrapped.__class__() if False else _DictObsEnv(), ["a"])
    wrapped = GymMazeEnv(dict_env)
    assert list(wrapped.observation_space.spaces) == ["a"]


class _DictObsEnv(gym.Env):
    observation_space = gym.spaces.Dict({"a": gym.spaces.Box(0, 1, (2,)), "b": gym.spaces.Discrete(3)})
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, True, False, {}


def test_terminated_and_truncated_stay_distinct():
    env = GymMazeEnv("CartPole-v1", max_episode_steps=3)
    env.reset(seed=0)
    results = [env.step({"action": np.int64(i % 2)}) for i in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    assert not any(r[2] for r in results)


def test_log_stats_wrapper_aggregates_episodes():
    env = LogStatsWrapper.wrap(GymMazeEnv("CartPole-v1", max_episode_steps=5), logging_prefix="eval")
    assert env.observation_spaces_dict == env.unwrapped.observation_spaces_dict
    for seed in range(3):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, term, trunc, _ = env.step({"action": 0})
            done = term or trunc
    stats = env.get_stats()
    assert stats["eval/episode_count"] == 3
    lengths = np.array(env.episode_stats.lengths)
    assert stats["eval/episode_return_mean"] == pytest.approx(lengths.mean())  # reward 1 per step
    assert stats["eval/episode_return_max"] == lengths.max() <= 5
    assert env.get_stats_value("episode_length_mean") == pytest.approx(lengths.mean())
    env.clear_stats()
    assert env.get_stats()["eval/episode_count"] == 0


def test_sequential_mode_uses_gymnasiums_native_vector_cartpole():
    probe = GymMazeEnv("CartPole-v1")
    venv = make_vector_env(lambda: GymMazeEnv("CartPole-v1"), 3, "sequential", probe=probe)
    assert isinstance(venv, NativeVectorEnv)
    assert venv.reset(seed=0).observations[0]["observation"].shape == (3, 4)
    step = venv.step({0: {"action": np.zeros(3, dtype=np.int64)}})
    assert step.rewards.shape == step.terminated.shape == step.truncated.shape == step.valid.shape == (3,)
    assert isinstance(make_vector_env(lambda: GymMazeEnv("CartPole-v1", max_episode_steps=9), 3, "sequential"),
                      SequentialVectorEnv)  # make kwargs: gymnasium's vector version would not apply them


class RaisingEnv(GymMazeEnv):
    def __init__(self):
        super().__init__("CartPole-v1")

    def step(self, action):
        raise ZeroDivisionError("physics exploded")


@pytest.mark.parametrize("mode", ["sequential", "subprocess"])
def test_env_raising_in_a_worker_names_worker_and_exception(mode):
    venv = make_vector_env(RaisingEnv, 2, mode)
    venv.reset(seed=0)
    with pytest.raises(EnvError, match=r"env worker \d .*raised in step at step 1: ZeroDivisionError: physics exploded"):
        venv.step({0: {"action": np.zeros(2, dtype=np.int64)}})
    venv.close()


def test_killed_subprocess_worker_is_reported_not_hung():
    venv = make_vector_env(lambda: GymMazeEnv("CartPole-v1"), 2, "subprocess")
    venv.reset(seed=0)
    os.kill(venv.processes[1].pid, signal.SIGKILL)
    time.sleep(0.2)
    start = time.monotonic()
    with pytest.raises(EnvWorkerDied, match="env worker 1 .*died"):
        for _ in range(3):
            venv.step({0: {"action": np.zeros(2, dtype=np.int64)}})
    assert time.monotonic() - start < 5
    venv.close()
