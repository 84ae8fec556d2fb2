"""Each distribution against torch.distributions: log-prob, entropy, sample shapes, extra batch dims.

The Gaussian heads' own checks against torch.distributions are in test_continuous_actions.py."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import distributions as td

from maze_cli.distributions import (BernoulliProbabilityDistribution, CategoricalProbabilityDistribution,
                                    DiagonalGaussianProbabilityDistribution, DistributionMapper,
                                    MultiCategoricalProbabilityDistribution,
                                    SquashedGaussianProbabilityDistribution)

BATCH = (3, 5)  # extra batch dims, e.g. time x envs


def test_categorical_matches_torch():
    logits = torch.randn(*BATCH, 4)
    dist = CategoricalProbabilityDistribution(logits, gym.spaces.Discrete(4))
    ref = td.Categorical(logits=logits)
    actions = dist.sample()
    assert actions.shape == BATCH
    assert torch.allclose(dist.log_prob(actions), ref.log_prob(actions))
    assert torch.allclose(dist.entropy(), ref.entropy())
    assert torch.equal(dist.deterministic_sample(), logits.argmax(-1))


def test_categorical_respects_discrete_start():
    logits = torch.tensor([[0.0, 5.0, 0.0]])
    dist = CategoricalProbabilityDistribution(logits, gym.spaces.Discrete(3, start=-1))
    assert dist.deterministic_sample().item() == 0
    assert torch.allclose(dist.log_prob(torch.tensor([0])), torch.log_softmax(logits, -1)[:, 1])


def test_multi_categorical_is_sum_of_independent_categoricals():
    space = gym.spaces.MultiDiscrete([3, 2])
    logits = torch.randn(*BATCH, 5)
    dist = MultiCategoricalProbabilityDistribution(logits, space)
    a, b = td.Categorical(logits=logits[..., :3]), td.Categorical(logits=logits[..., 3:])
    actions = dist.sample()
    assert actions.shape == BATCH + (2,)
    assert torch.allclose(dist.log_prob(actions), a.log_prob(actions[..., 0]) + b.log_prob(actions[..., 1]))
    assert torch.allclose(dist.entropy(), a.entropy() + b.entropy())
    assert MultiCategoricalProbabilityDistribution.required_logits_shape(space) == (5,)


def test_bernoulli_sums_over_event_dims():
    space = gym.spaces.MultiBinary(6)
    logits = torch.randn(*BATCH, 6)
    dist = BernoulliProbabilityDistribution(logits, space)
    ref = td.Bernoulli(logits=logits)
    actions = dist.sample()
    assert actions.shape == BATCH + (6,)
    assert torch.allclose(dist.log_prob(actions), ref.log_prob(actions).sum(-1))
    assert torch.allclose(dist.entropy(), ref.entropy().sum(-1))
    assert torch.equal(dist.deterministic_sample(), (logits > 0).float())


def test_squashed_gaussian_env_actions_stay_in_bounds_and_mode_is_squashed_mean():
    space = gym.spaces.Box(np.array([-2.0, 0.0], dtype=np.float32), np.array([2.0, 1.0], dtype=np.float32))
    mean = torch.randn(*BATCH, 2) * 3
    dist = SquashedGaussianProbabilityDistribution(mean, space, log_std=torch.zeros(2))
    actions = dist.to_env_action(dist.sample())
    assert actions.shape == BATCH + (2,)
    assert (np.abs(actions[..., 0]) <= 2).all() and (actions[..., 1] >= 0).all() and (actions[..., 1] <= 1).all()
    mode = dist.to_env_action(dist.deterministic_sample())
    expected = np.stack([2 * np.tanh(mean[..., 0].numpy()), (np.tanh(mean[..., 1].numpy()) + 1) / 2], -1)
    assert np.allclose(mode, expected, atol=1e-5)
    assert torch.isfinite(dist.log_prob(dist.sample())).all()


def test_mapper_defaults_and_logits_shapes_through_dict_spaces():
    space = gym.spaces.Dict({
        "move": gym.spaces.Discrete(4), "multi": gym.spaces.MultiDiscrete([2, 3]),
        "flags": gym.spaces.MultiBinary(3), "force": gym.spaces.Box(-1, 1, shape=(2,))})
    mapper = DistributionMapper(space, [])
    assert mapper.logits_shapes == {"move": (4,), "multi": (5,), "flags": (3,), "force": (2,)}
    logits = {k: torch.randn(7, *s) for k, s in mapper.logits_shapes.items()}
    dist = mapper.logits_dict_to_distribution(logits)
    actions = dist.sample()
    assert dist.log_prob(actions).shape == (7,)
    assert dist.entropy().shape == (7,)
    manual = sum(mapper.action_head_to_distribution(k, logits[k]).log_prob(actions[k]) for k in logits)
    assert torch.allclose(dist.log_prob(actions), manual)


def test_mapper_config_by_space_type_and_by_head_name_with_dotted_paths():
    space = gym.spaces.Dict({"a": gym.spaces.Box(-1, 1, shape=(2,)), "b": gym.spaces.Box(-1, 1, shape=(2,))})
    mapper = DistributionMapper(space, [
        {"action_space": "gymnasium.spaces.Box",
         "distribution": "maze_cli.distributions.SquashedGaussianProbabilityDistribution"},
        {"action_head": "b", "distribution": DiagonalGaussianProbabilityDistribution}])
    assert mapper.head_distributions["a"] is SquashedGaussianProbabilityDistribution
    assert mapper.head_distributions["b"] is DiagonalGaussianProbabilityDistribution


@pytest.mark.parametrize("entry, message", [
    ({"action_space": gym.spaces.Discrete, "distribution": "maze_cli.distributions.Nope"}, "cannot import"),
    ({"action_space": gym.spaces.Discrete}, "expected keys 'distribution'"),
    ({"action_head": "missing", "distribution": CategoricalProbabilityDistribution}, "unknown action head"),
    ({"action_space": gym.spaces.Discrete, "distribution": "torch.nn.Linear"}, "not a maze_cli ProbabilityDistribution"),
])
def test_mapper_rejects_bad_config(entry, message):
    with pytest.raises(ValueError, match=message):
        DistributionMapper(gym.spaces.Discrete(3), [entry])


def test_categorical_samples_follow_the_softmax_probabilities():
    torch.manual_seed(0)
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    dist = CategoricalProbabilityDistribution(probs.log().expand(20_000, 4), gym.spaces.Discrete(4, start=2))
    counts = torch.bincount(dist.sample() - 2, minlength=4).float() / 20_000
    assert torch.allclose(counts, probs, atol=0.015), counts


@pytest.mark.parametrize("shape", [(1, 2), (16, 2), (8, 5), (3, 4, 18)])
def test_categorical_draws_what_torch_multinomial_draws_from_the_same_generator_state(shape):
    """Seeded runs keep their trajectories: the same actions, and the generator left in the same state."""
    for seed in range(10):
        logits = torch.randn(shape, generator=torch.Generator().manual_seed(100 + seed)) * 3
        logits[..., 0] = float("-inf")  # a masked action: probability exactly 0, never drawn
        dist = CategoricalProbabilityDistribution(logits, gym.spaces.Discrete(shape[-1]))
        torch.manual_seed(seed)
        ours, after_ours = dist.sample(), torch.rand(3)
        torch.manual_seed(seed)
        probs = dist.log_probs.exp().reshape(-1, shape[-1])
        theirs, after_theirs = torch.multinomial(probs, 1).reshape(shape[:-1]), torch.rand(3)
        assert torch.equal(ours, theirs) and torch.equal(after_ours, after_theirs)
        assert bool((ours != 0).all())


def test_categorical_entropy_is_finite_with_zero_probability_actions():
    logits = torch.tensor([[0.0, float("-inf"), 0.0]])
    dist = CategoricalProbabilityDistribution(logits, gym.spaces.Discrete(3))
    assert torch.allclose(dist.entropy(), torch.tensor([np.log(2.0)]).float())
