"""gSDE: the state-dependent Gaussian against hand-computed values, the exploration matrices' lifetime, and the
policy that feeds its network's features to the head."""
import math

import gymnasium as gym
import pytest
import torch

from maze_cli import RunContext
from maze_cli.distributions import DistributionMapper, GSDEGaussianProbabilityDistribution, GSDENoise
from maze_cli.models import DefaultPolicyNet
from maze_cli.models.policy import ProbabilisticPolicyComposer

GSDE = [{"action_space": "gymnasium.spaces.Box",
         "distribution": "maze_cli.distributions.GSDEGaussianProbabilityDistribution"}]
BOX = gym.spaces.Box(-2.0, 2.0, (1,))


def head(mean, features, sigma) -> GSDEGaussianProbabilityDistribution:
    return GSDEGaussianProbabilityDistribution(torch.tensor(mean), BOX, torch.tensor(sigma).log(), torch.tensor(features))


def test_the_variance_is_the_features_squared_times_sigma_squared():
    # f = (1, 2), sigma = (0.5, 1) -> var = 1 * 0.25 + 4 * 1 = 4.25
    dist = head([[0.3]], [[1.0, 2.0]], [[0.5], [1.0]])
    std = math.sqrt(4.25 + GSDEGaussianProbabilityDistribution.EPSILON)
    assert dist.std.item() == pytest.approx(std)
    a = 1.3  # one std-ish away from the mean
    expected = -0.5 * ((a - 0.3) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)
    assert dist.log_prob(torch.tensor([[a]])).item() == pytest.approx(expected, rel=1e-6)
    assert dist.entropy().item() == pytest.approx(0.5 + 0.5 * math.log(2 * math.pi) + math.log(std), rel=1e-6)
    # features of zero leave only the mean: the exploration shrinks where the features do
    assert head([[0.3]], [[0.0, 0.0]], [[0.5], [1.0]]).std.item() == pytest.approx(1e-3)


def test_a_sample_is_the_mean_plus_the_features_times_the_scaled_matrix():
    dist = head([[0.3], [-0.1]], [[1.0, 2.0], [0.5, -1.0]], [[0.5], [1.0]])
    epsilon = torch.tensor([[[1.0], [-0.5]], [[2.0], [0.25]]])  # one (F, n) matrix per batch entry
    # row 0: 0.3 + 1 * 0.5 * 1 + 2 * 1 * -0.5 = -0.2; row 1: -0.1 + 0.5 * 0.5 * 2 + -1 * 1 * 0.25 = 0.15
    assert torch.allclose(dist.sample_with_matrix(epsilon), torch.tensor([[-0.2], [0.15]]))
    assert torch.equal(dist.deterministic_sample(), dist.mean)
    assert dist.to_env_action(torch.tensor([[3.0], [-0.5]])).tolist() == [[2.0], [-0.5]]  # clipped into the Box


def test_samples_drawn_with_fresh_matrices_have_the_distributions_std():
    torch.manual_seed(0)
    features = torch.randn(1, 8).expand(20_000, 8)
    dist = GSDEGaussianProbabilityDistribution(torch.zeros(20_000, 1), BOX, torch.full((8, 1), -0.5), features)
    samples = dist.sample_with_matrix(torch.randn(20_000, 8, 1))
    assert samples.std().item() == pytest.approx(dist.std[0].item(), rel=0.03)


def test_a_matrix_is_kept_for_sample_freq_steps_and_redrawn_after():
    noise = GSDENoise(sample_freq=3, seed=0)
    dist = head([[0.0], [0.0]], [[1.0, 0.0], [0.0, 1.0]], [[1.0], [1.0]])
    first = [noise.sample("action", dist) for _ in range(3)]
    fourth = noise.sample("action", dist)
    assert torch.equal(first[0], first[1]) and torch.equal(first[0], first[2])
    assert not torch.equal(first[0], fourth)
    assert not torch.equal(first[0][0], first[0][1])  # every env (batch entry) has its own matrix
    noise.reseed(0)
    assert torch.equal(noise.sample("action", dist), first[0])
    # a batch of another size (another actor's group) gets matrices of its own size
    assert noise.sample("action", head([[0.0]], [[1.0, 1.0]], [[1.0], [1.0]])).shape == (1, 1)
    categorical = DistributionMapper(gym.spaces.Discrete(3)).logits_dict_to_distribution({"action": torch.zeros(2, 3)})
    assert noise.sample("action", categorical.distributions["action"]).shape == (2,)
    with pytest.raises(ValueError, match="sde_sample_freq=0 is invalid"):
        GSDENoise(sample_freq=0)


def test_the_policy_feeds_its_detached_features_and_owns_a_log_std_per_feature_and_action():
    spaces = {0: gym.spaces.Dict({"observation": gym.spaces.Box(-1.0, 1.0, (3,))})}
    actions = {0: gym.spaces.Dict({"action": BOX})}
    policy = ProbabilisticPolicyComposer(actions, spaces, {"distribution_mapper_config": GSDE},
                                         sde_sample_freq=2).policy
    assert tuple(policy.distribution_parameters["0"]["action"]["log_std"].shape) == (64, 1)
    assert isinstance(policy.exploration_noise, GSDENoise) and policy.exploration_noise.sample_freq == 2
    obs = {"observation": torch.rand(5, 3)}
    dist = policy.distribution(obs).distributions["action"]
    net = policy.networks["0"]
    assert torch.allclose(dist.features, net.features(obs)) and not dist.features.requires_grad
    assert torch.allclose(dist.mean, net(obs)["action"])
    dist.log_prob(torch.zeros(5, 1)).sum().backward()
    # the trunk learns through the mean only; the exploration's log-std gets its gradient from the variance
    assert policy.distribution_parameters["0"]["action"]["log_std"].grad.abs().sum() > 0
    assert policy.compute_action({"observation": [0.1, 0.2, 0.3]}, deterministic=True)["action"].shape == (1,)


class NoFeatures(torch.nn.Module):
    def __init__(self, obs_shapes, action_logit_shapes):
        super().__init__()
        self.layer = torch.nn.Linear(3, 1)

    def forward(self, x):
        return {"action": self.layer(x["observation"])}


def test_a_network_without_features_is_refused_by_name():
    spaces = {0: gym.spaces.Dict({"observation": gym.spaces.Box(-1.0, 1.0, (3,))})}
    actions = {0: gym.spaces.Dict({"action": BOX})}
    with pytest.raises(ValueError, match=r"'0' \(NoFeatures\).*gSDE.*features\(obs\), logits_from_features"):
        ProbabilisticPolicyComposer(actions, spaces, {"distribution_mapper_config": GSDE},
                                    networks=NoFeatures(None, None))
    assert DefaultPolicyNet  # the network that has them


def test_ppo_acts_with_gsde_and_a_bad_sample_freq_fails_before_training(run_root):
    overrides = {"policy.distribution_mapper.distribution_mapper_config": GSDE, "runner.n_envs": 2,
                 "algorithm.n_epochs": 1, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 32,
                 "algorithm.eval_repeats": 1}
    rc = RunContext(env="pendulum", algorithm="ppo", output_dir=run_root, overrides=overrides)
    rc.train()
    assert isinstance(rc.policy.exploration_noise, GSDENoise)
    assert (rc.run_dir / "stats.csv").exists()
    with pytest.raises(Exception, match="sde_sample_freq=0 is invalid"):
        RunContext(env="pendulum", algorithm="ppo", output_dir=run_root,
                   overrides={**overrides, "policy.sde_sample_freq": 0}).train()


def test_es_refuses_a_gsde_head_before_training(run_root):
    with pytest.raises(Exception, match=r"algorithm=es: action head\(s\) \['action'\] explore with gSDE"):
        RunContext(env="pendulum", algorithm="es", output_dir=run_root,
                   overrides={"policy.distribution_mapper.distribution_mapper_config": GSDE}).train()
    assert not list(run_root.glob("*/*/stats.csv"))  # nothing was trained or written


def test_sac_refuses_a_gsde_head_naming_the_distribution_it_needs(run_root):
    with pytest.raises(Exception, match="uses GSDEGaussianProbabilityDistribution, but SAC needs a SquashedGaussian"):
        RunContext(env="pendulum", algorithm="sac", output_dir=run_root,
                   overrides={"policy.distribution_mapper.distribution_mapper_config": GSDE}).train()
