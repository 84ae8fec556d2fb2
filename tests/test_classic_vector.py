"""The array Pendulum and Acrobot against gymnasium's envs stepped one by one: the same numbers, step by step."""
import gymnasium as gym
import numpy as np
import pytest

from maze_cli.envs import GymMazeEnv, make_vector_env
from maze_cli.envs.classic_vector import AcrobotVectorEnv, PendulumVectorEnv
from maze_cli.envs.gym_maze_env import ACTION_KEY, OBS_KEY
from maze_cli.envs.vector import SequentialVectorEnv

N_ENVS = 3


def random_actions(space: gym.Space, rng: np.random.Generator) -> np.ndarray:
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(space.n, size=N_ENVS)
    return rng.uniform(-2.5, 2.5, size=(N_ENVS,) + space.shape).astype(space.dtype)  # beyond the bounds too


def assert_same_step(ours, theirs) -> None:
    assert np.array_equal(ours.observations[0][OBS_KEY], theirs.observations[0][OBS_KEY])
    for field in ("actors", "rewards", "terminated", "truncated", "flat_step_done", "valid"):
        assert np.array_equal(getattr(ours, field), getattr(theirs, field)), field
    assert sorted(ours.final) == sorted(theirs.final)
    for env, (obs, actor) in theirs.final.items():
        assert np.array_equal(ours.final[env][0][OBS_KEY], obs[OBS_KEY]) and ours.final[env][1] == actor


@pytest.mark.parametrize("cls, steps", [(PendulumVectorEnv, 450), (AcrobotVectorEnv, 1100)])
def test_array_env_equals_gymnasium_step_by_step_through_resets(cls, steps):
    """Random actions through truncations (Pendulum at 200 steps, Acrobot at 500), a subset of envs
    stepping, and a reset without a seed that continues each env's generator."""
    ours, theirs = cls(N_ENVS), SequentialVectorEnv([GymMazeEnv(cls.gym_id) for _ in range(N_ENVS)])
    assert ours.observation_spaces_dict == theirs.observation_spaces_dict
    assert ours.action_spaces_dict == theirs.action_spaces_dict and ours.actor_ids == theirs.actor_ids
    assert_same_step(ours.reset(seed=7), theirs.reset(seed=7))
    space = ours.action_spaces_dict[0][ACTION_KEY]
    rng = np.random.default_rng(0)
    ends = 0
    for t in range(steps):
        actions = {0: {ACTION_KEY: random_actions(space, rng)}}
        active = rng.random(N_ENVS) < 0.8 if t % 7 == 0 else None
        mine, gyms = ours.step(actions, active), theirs.step(actions, active)
        assert_same_step(mine, gyms)
        ends += len(gyms.final)
        if t == steps // 2:
            assert_same_step(ours.reset(), theirs.reset())
    assert ends >= N_ENVS  # the comparison went through autoresets


def test_acrobot_terminations_match_gymnasium():
    """A bang-bang controller that pumps energy into the arm (torque along the second joint's velocity), so that
    episodes end by termination (reward 0) within about 75 steps."""
    ours, theirs = AcrobotVectorEnv(N_ENVS), SequentialVectorEnv([GymMazeEnv("Acrobot-v1") for _ in range(N_ENVS)])
    step = ours.reset(seed=3)
    assert_same_step(step, theirs.reset(seed=3))
    terminations = 0
    for _ in range(600):
        velocity = step.observations[0][OBS_KEY][:, 5]
        actions = {0: {ACTION_KEY: np.where(velocity > 0, 2, 0)}}
        step, gyms = ours.step(actions), theirs.step(actions)
        assert_same_step(step, gyms)
        terminations += int(gyms.terminated.sum())
    assert terminations >= N_ENVS


@pytest.mark.parametrize("name, cls", [("Pendulum-v1", PendulumVectorEnv), ("Acrobot-v1", AcrobotVectorEnv)])
def test_sequential_vector_env_of_a_plain_env_is_the_array_env(name, cls):
    assert isinstance(make_vector_env(lambda: GymMazeEnv(name), 2), cls)
    # settings other than the registered ones go through gymnasium's env
    changed = make_vector_env(lambda: GymMazeEnv(name, max_episode_steps=50), 2)
    assert isinstance(changed, SequentialVectorEnv)
