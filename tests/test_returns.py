"""GAE and returns against hand-computed values, and the collector's bookkeeping around episode ends."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from maze_cli import GymMazeEnv
from maze_cli.envs.maze_env import MazeEnv
from maze_cli.envs.make import make_vector_env
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import ProbabilisticPolicyComposer
from maze_cli.algorithms.returns import compute_gae
from maze_cli.train.rollout import RolloutCollector


def _single_actor_gae(rewards, values, terminated, episode_end, valid, gamma, lam):
    """The one GAE on a single-actor rollout given in the classic ``(T + 1)``-row value layout.

    Row ``t + 1`` of ``values`` is the value of the observation step ``t`` returned; at a truncation
    that is the episode's final observation, which is what the end value of the step is.
    """
    end_values = torch.where(episode_end & ~terminated, values[1:], torch.zeros_like(rewards))
    return compute_gae(torch.zeros_like(rewards, dtype=torch.long), valid, rewards * valid, values[:-1], values[-1],
                       episode_end, end_values, 1, gamma, lam)


def test_gae_truncated_and_terminated_episodes_in_one_rollout():
    """Env A is truncated at t=1 (bootstrap from its final observation's value 3.0), env B
    terminates at t=2 (no bootstrap). The step after each end is a reset step (no decision)."""
    gamma, lam = 0.9, 0.5
    values = torch.tensor([[1.0, 0.5], [2.0, 1.5], [3.0, 2.5], [4.0, 3.5], [5.0, 4.5]])
    rewards = torch.tensor([[1.0, 1.0], [1.0, 2.0], [0.0, 3.0], [1.0, 0.0]])
    terminated = torch.tensor([[0, 0], [0, 0], [0, 1], [0, 0]], dtype=torch.bool)
    episode_end = torch.tensor([[0, 0], [1, 0], [0, 1], [0, 0]], dtype=torch.bool)
    valid = torch.tensor([[1, 1], [1, 1], [0, 1], [1, 0]], dtype=torch.bool)

    adv, ret = _single_actor_gae(rewards, values, terminated, episode_end, valid, gamma, lam)

    # Env A: d3 = 1 + .9*5 - 4 = 1.5; t2 is a reset step (no decision: 0);
    # d1 = 1 + .9*3 - 2 = 1.7 (episode ends: chain cut); d0 = 1 + .9*2 - 1 = 1.8 -> 1.8 + .45*1.7
    # Env B: t3 is a reset step; d2 = 3 - 2.5 = .5 (terminal); d1 = 2 + .9*2.5 - 1.5 = 2.75
    #        -> 2.75 + .45*.5 = 2.975; d0 = 1 + .9*1.5 - .5 = 1.85 -> 1.85 + .45*2.975
    expected = torch.tensor([[2.565, 3.18875], [1.7, 2.975], [0.0, 0.5], [1.5, 0.0]])
    assert torch.allclose(adv, expected, atol=1e-6)
    assert torch.allclose(ret, expected + values[:-1], atol=1e-6)


def test_lambda_one_gamma_one_gives_reward_to_go_of_a_terminated_episode():
    rewards = torch.tensor([[1.0], [2.0], [3.0]])
    values = torch.tensor([[10.0], [20.0], [30.0], [99.0]])
    terminated = torch.tensor([[False], [False], [True]])
    adv, ret = _single_actor_gae(rewards, values, terminated, terminated, torch.ones(3, 1, dtype=torch.bool),
                                 gamma=1.0, lam=1.0)
    assert torch.allclose(ret, torch.tensor([[6.0], [5.0], [3.0]]))


def test_lambda_zero_is_one_step_td_with_rollout_end_bootstrap():
    rewards = torch.tensor([[1.0], [1.0]])
    values = torch.tensor([[0.5], [0.25], [2.0]])
    no = torch.zeros(2, 1, dtype=torch.bool)
    adv, _ = _single_actor_gae(rewards, values, no, no, ~no, gamma=0.5, lam=0.0)
    assert torch.allclose(adv, torch.tensor([[1 + 0.5 * 0.25 - 0.5], [1 + 0.5 * 2.0 - 0.25]]))


class CountingEnv(MazeEnv):
    """Observation = steps taken in the episode; truncated after 3 steps, reward 1 per step."""

    def __init__(self):
        self.observation_spaces_dict = {0: gym.spaces.Dict(
            {"observation": gym.spaces.Box(0, 10, shape=(1,), dtype=np.float32)})}
        self.action_spaces_dict = {0: gym.spaces.Dict({"action": gym.spaces.Discrete(2)})}
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return {"observation": np.array([0.0], dtype=np.float32)}, {}

    def step(self, action):
        self.t += 1
        return {"observation": np.array([self.t], dtype=np.float32)}, 1.0, False, self.t == 3, {}


class ObsValue(torch.nn.Module):
    """Critic whose value is the observation itself, to see which observation was valued."""

    def forward(self, x):
        return {"value": x["observation"]}


def test_collector_bootstraps_truncation_from_the_final_observation():
    """In-process envs reset within the step that ended the episode (same-step autoreset); the
    final observation comes back separately and its value is the truncated step's end value."""
    env = CountingEnv()
    policy = ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict).policy
    critic = TorchStateCritic({"0": ObsValue()}, {0: "0"})
    collector = RolloutCollector(make_vector_env(CountingEnv, 1), policy, critic, n_steps=6, seed=0)
    batch = collector.collect()
    # steps: obs 0 -> 1 -> 2 -> 3 (truncated; reset to 0 within the step) | 0 -> 1 -> 2 -> 3 (truncated, reset)
    assert batch.valid[:, 0].tolist() == [True] * 6
    assert batch.episode_end[:, 0].tolist() == [False, False, True, False, False, True]
    assert batch.terminated.sum() == 0
    # values[t] is V(obs_t); the truncated steps' end value is V(final obs) = 3; then the new episode's obs 0.
    assert batch.values[:, 0].tolist() == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0]
    assert batch.end_values[:, 0].tolist() == [0.0, 0.0, 3.0, 0.0, 0.0, 3.0]
    assert batch.last_values.tolist() == [0.0]
    stats = collector.pop_episode_stats()
    assert stats["train/episode_count"] == 2
    assert stats["train/episode_return_mean"] == 3.0
    assert stats["train/episode_length_mean"] == 3.0
    assert collector.pop_episode_stats()["train/episode_count"] == 0
    collector.close()


def test_collector_on_cartpole_counts_every_episode_once():
    policy = ProbabilisticPolicyComposer(*_spaces()).policy
    critic = TorchStateCritic({"0": ObsZero()}, {0: "0"})
    factory = lambda: GymMazeEnv("CartPole-v1")
    collector = RolloutCollector(make_vector_env(factory, 3, probe=factory()), policy, critic, n_steps=200, seed=3)
    batch = collector.collect()
    ends = int(batch.episode_end.sum())
    stats = collector.pop_episode_stats()
    assert stats["train/episode_count"] == ends > 0
    # every valid step belongs to exactly one (finished or running) episode; lengths add up
    assert stats["train/episode_length_mean"] * ends <= int(batch.valid.sum())
    # gymnasium's vectorised CartPole autoresets on the NEXT step: a reset step (no decision)
    # follows every episode end that is not the rollout's last step, and bootstraps nothing
    ended_before_last = batch.episode_end[:-1]
    assert (~batch.valid[1:][ended_before_last]).all()
    assert batch.rewards[~batch.valid].abs().sum() == 0


class ObsZero(torch.nn.Module):
    def forward(self, x):
        return {"value": torch.zeros(x["observation"].shape[0], 1)}


def _spaces():
    env = GymMazeEnv("CartPole-v1")
    return env.action_spaces_dict, env.observation_spaces_dict


@pytest.mark.parametrize("bad", [0, -1])
def test_vector_env_rejects_bad_env_count(bad):
    with pytest.raises(ValueError, match="n_envs must be >= 1"):
        make_vector_env(CountingEnv, bad)
