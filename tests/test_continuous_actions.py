"""Gaussian heads: state-independent log-std owned by the policy, exact squashed log-prob, env-action mapping."""
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import distributions as td

from maze_cli import (DiagonalGaussianProbabilityDistribution, DistributionMapper, GymMazeEnv,
                      ProbabilisticPolicyComposer, SquashedGaussianProbabilityDistribution)
from maze_cli.distributions.normal import DiagonalNormal
from maze_cli.envs.make import make_vector_env
from maze_cli.models import SharedStateCriticComposer
from maze_cli.train.rollout import RolloutCollector

BATCH = (3, 5)


def test_diagonal_gaussian_mean_from_logits_log_std_state_independent():
    space = gym.spaces.Box(-1, 1, shape=(3,))
    assert DiagonalGaussianProbabilityDistribution.required_logits_shape(space) == (3,)
    assert torch.equal(DiagonalGaussianProbabilityDistribution.init_parameters(space)["log_std"], torch.zeros(3))
    mean, log_std = torch.randn(*BATCH, 3), torch.tensor([-0.5, 0.0, 0.3])
    dist = DiagonalGaussianProbabilityDistribution(mean, space, log_std=log_std)
    ref = td.Normal(mean, log_std.exp().expand_as(mean))
    actions = dist.sample()
    assert actions.shape == BATCH + (3,)
    assert torch.allclose(dist.log_prob(actions), ref.log_prob(actions).sum(-1), atol=1e-6)
    assert torch.allclose(dist.entropy(), ref.entropy().sum(-1), atol=1e-6)
    assert torch.equal(dist.deterministic_sample(), mean)


@pytest.mark.parametrize("shape", [(1, 1), (4, 1), (3, 5, 2)])
def test_diagonal_normal_draws_and_scores_what_torch_distributions_does(shape):
    """Seeded runs keep their trajectories: the same samples, the same generator state after them, and
    bit-identical log-probs, entropies and gradients, against Independent(Normal(loc, scale), 1)."""
    for seed in range(5):
        g = torch.Generator().manual_seed(200 + seed)
        loc = torch.randn(shape, generator=g).requires_grad_()
        log_std = (torch.randn(shape[-1], generator=g) * 0.5).requires_grad_()
        scale = log_std.exp().expand_as(loc)
        ours, theirs = DiagonalNormal(loc, scale), td.Independent(td.Normal(loc, scale), 1)
        draws = []
        for dist in (ours, theirs):
            torch.manual_seed(seed)
            draws.append((dist.sample(), dist.rsample(), torch.rand(3)))
        assert all(torch.equal(a, b) for a, b in zip(*draws))
        actions = draws[0][0]
        grads = []
        for dist in (ours, theirs):
            terms = (dist.log_prob(actions), dist.entropy())
            grads.append(torch.autograd.grad(sum(t.sum() for t in terms), (loc, log_std), retain_graph=True) + terms)
        assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_diagonal_gaussian_env_action_is_clipped_to_the_box_in_its_dtype():
    space = gym.spaces.Box(np.array([-2.0, 0.0], dtype=np.float32), np.array([2.0, 1.0], dtype=np.float32))
    dist = DiagonalGaussianProbabilityDistribution(torch.zeros(2), space, log_std=torch.zeros(2))
    env_action = dist.to_env_action(torch.tensor([[-5.0, 0.5], [1.0, 3.0]]))
    assert env_action.dtype == np.float32
    assert np.array_equal(env_action, np.array([[-2.0, 0.5], [1.0, 1.0]], dtype=np.float32))


def _squash_jacobian_fd(dist, u, h=1e-4):
    """Diagonal of da/du by central finite differences (float64)."""
    return (dist.squash(u + h) - dist.squash(u - h)) / (2 * h)


def test_squashed_gaussian_log_prob_by_numerical_change_of_variables():
    """log p(a) = log N(u) - sum log|da/du|, with da/du measured numerically."""
    space = gym.spaces.Box(np.array([-2.0, 0.0]), np.array([2.0, 1.0]), dtype=np.float64)
    mean = torch.tensor([[0.3, -1.0], [1.5, 0.2]], dtype=torch.float64)
    log_std = torch.tensor([-0.5, 0.4], dtype=torch.float64)
    dist = SquashedGaussianProbabilityDistribution(mean, space, log_std=log_std)
    u = torch.tensor([[0.7, -2.5], [3.0, 0.1]], dtype=torch.float64)
    expected = (td.Normal(mean, log_std.exp()).log_prob(u) - torch.log(_squash_jacobian_fd(dist, u))).sum(-1)
    assert torch.allclose(dist.log_prob(u), expected, atol=1e-6)


def test_squashed_gaussian_density_integrates_to_one_over_the_box():
    space = gym.spaces.Box(-3.0, 1.0, shape=(1,), dtype=np.float64)
    dist = SquashedGaussianProbabilityDistribution(torch.tensor([0.4], dtype=torch.float64), space,
                                                   log_std=torch.tensor([0.2], dtype=torch.float64))
    a = torch.linspace(-3.0, 1.0, 200_001, dtype=torch.float64)[1:-1]
    u = torch.atanh((a + 1.0) / 2.0)  # a = -1 + 2 tanh(u)
    density = dist.log_prob(u[:, None]).exp()
    assert math.isclose(torch.trapezoid(density, a).item(), 1.0, abs_tol=1e-3)


def test_squashed_gaussian_is_finite_and_exact_where_tanh_saturates():
    space = gym.spaces.Box(-1.0, 1.0, shape=(1,))
    dist = SquashedGaussianProbabilityDistribution(torch.zeros(1, 1), space, log_std=torch.zeros(1))
    u = torch.tensor([[12.0]])  # float32 tanh(12) == 1.0 exactly
    assert dist.to_env_action(u)[0, 0] == 1.0
    # log(1 - tanh(u)^2) ~ log 4 - 2u for large u
    expected = td.Normal(0.0, 1.0).log_prob(torch.tensor(12.0)) - (math.log(4.0) - 24.0)
    assert torch.allclose(dist.log_prob(u), expected.reshape(1), atol=1e-4)


def test_squashed_gaussian_samples_map_into_bounds_and_mode_is_squashed_mean():
    space = gym.spaces.Box(np.array([-2.0, 0.0], dtype=np.float32), np.array([2.0, 1.0], dtype=np.float32))
    mean = torch.randn(*BATCH, 2) * 3
    dist = SquashedGaussianProbabilityDistribution(mean, space, log_std=torch.ones(2))
    env_actions = dist.to_env_action(dist.sample())
    assert env_actions.shape == BATCH + (2,) and env_actions.dtype == np.float32
    assert (np.abs(env_actions[..., 0]) <= 2).all() and (env_actions[..., 1] >= 0).all() \
        and (env_actions[..., 1] <= 1).all()
    mode = dist.to_env_action(dist.deterministic_sample())
    expected = np.stack([2 * np.tanh(mean[..., 0].numpy()), (np.tanh(mean[..., 1].numpy()) + 1) / 2], -1)
    assert np.allclose(mode, expected, atol=1e-6)


def test_squashed_gaussian_needs_finite_bounds():
    with pytest.raises(ValueError, match="needs finite Box bounds"):
        SquashedGaussianProbabilityDistribution(torch.zeros(1), gym.spaces.Box(-np.inf, np.inf, shape=(1,)),
                                                log_std=torch.zeros(1))


def test_policy_owns_one_learnable_log_std_per_gaussian_head_and_network():
    obs = gym.spaces.Dict({"x": gym.spaces.Box(-1, 1, shape=(4,))})
    actions = gym.spaces.Dict({"force": gym.spaces.Box(-1, 1, shape=(2,)), "pick": gym.spaces.Discrete(3)})
    policy = ProbabilisticPolicyComposer({0: actions}, {0: obs}).policy
    net = policy.networks["0"]
    assert dict(zip(net.logit_shapes, net.heads))["force"].out_features == 2  # the mean only
    log_std = policy.state_dict()["distribution_parameters.0.force.log_std"]
    assert torch.equal(log_std, torch.zeros(2))
    assert any(p is policy.distribution_parameters["0"]["force"]["log_std"] for p in policy.parameters())
    dist = policy.distribution({"x": torch.zeros(7, 4)})
    dist.log_prob({"force": torch.ones(7, 2), "pick": torch.zeros(7, dtype=torch.long)}).sum().backward()
    assert policy.distribution_parameters["0"]["force"]["log_std"].grad is not None
    with torch.no_grad():
        policy.distribution_parameters["0"]["force"]["log_std"].fill_(-1.0)
    assert torch.allclose(policy.distribution({"x": torch.zeros(1, 4)}).distributions["force"].std,
                          torch.full((1, 2), math.exp(-1.0)))


def test_mapper_without_learned_parameters_uses_the_initial_ones():
    mapper = DistributionMapper(gym.spaces.Box(-1, 1, shape=(2,)), [])
    assert mapper.logits_shapes == {"action": (2,)}
    dist = mapper.logits_dict_to_distribution({"action": torch.zeros(4, 2)})
    assert torch.allclose(dist.distributions["action"].std, torch.ones(4, 2))


class _RecordingPendulum(gym.Wrapper):
    """Records the actions the env receives."""

    received = []

    def step(self, action):
        _RecordingPendulum.received.append(np.array(action["action"]))
        return self.env.step(action)


def test_rollout_stores_the_unclipped_sample_and_the_env_gets_the_clipped_one():
    factory = lambda: _RecordingPendulum(GymMazeEnv("Pendulum-v1"))  # noqa: E731
    probe = factory()
    policy = ProbabilisticPolicyComposer(probe.get_wrapper_attr("action_spaces_dict"),
                                         probe.get_wrapper_attr("observation_spaces_dict")).policy
    critic = SharedStateCriticComposer(probe.get_wrapper_attr("observation_spaces_dict")).critic
    with torch.no_grad():
        policy.distribution_parameters["0"]["action"]["log_std"].fill_(2.0)  # std 7.4 >> bound 2
    _RecordingPendulum.received.clear()
    collector = RolloutCollector(make_vector_env(factory, 2, "sequential"), policy, critic, n_steps=20, seed=0)
    batch = collector.collect()
    stored = batch.actions[0]["action"].reshape(-1, 1).numpy()
    received = np.stack(_RecordingPendulum.received).reshape(-1, 1)
    assert np.abs(stored).max() > 2.0 and np.abs(received).max() <= 2.0
    assert np.allclose(np.clip(stored, -2.0, 2.0), received)
    obs = {"observation": batch.observations[0]["observation"].reshape(-1, 3)}
    log_probs = policy.distribution(obs).log_prob({"action": batch.actions[0]["action"].reshape(-1, 1)})
    assert torch.allclose(log_probs, batch.log_probs.reshape(-1), atol=1e-5)  # scored on the stored, unclipped sample
    collector.close()
