"""Colored exploration noise: its spectrum and correlation, how heads use it, and SAC acting with it."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from maze_cli import ConfigError, RunContext
from maze_cli.distributions import DistributionMapper, SquashedGaussianProbabilityDistribution
from maze_cli.distributions.colored_noise import ColoredNoise, colored_sequences


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_sequences_have_unit_variance_and_a_one_over_f_to_the_beta_spectrum(beta):
    sequences = colored_sequences(beta, (200,), 1000, np.random.default_rng(0))
    assert np.allclose(sequences.std(-1), 1.0) and np.allclose(sequences.mean(-1), 0.0, atol=1e-12)
    frequencies = np.fft.rfftfreq(1000)[1:]
    power = (np.abs(np.fft.rfft(sequences, axis=-1)) ** 2).mean(0)[1:]
    slope = np.polyfit(np.log(frequencies), np.log(power), 1)[0]
    assert slope == pytest.approx(-beta, abs=0.1)


def test_pink_noise_is_correlated_over_steps_and_white_noise_is_not():
    rng = np.random.default_rng(1)
    def lag_one(beta):
        sequences = colored_sequences(beta, (100,), 1000, rng)
        return np.mean([np.corrcoef(s[:-1], s[1:])[0, 1] for s in sequences])
    assert abs(lag_one(0.0)) < 0.02
    assert lag_one(1.0) > 0.6


def test_noise_hands_out_one_sequence_step_by_step_and_starts_a_block_when_needed():
    noise = ColoredNoise(1.0, length=8, seed=3)
    steps = torch.stack([noise.next("action", torch.Size([2, 3])) for _ in range(8)], dim=-1)
    expected = colored_sequences(1.0, (2, 3), 8, np.random.default_rng(3))
    assert np.allclose(steps.numpy(), expected, atol=1e-6)
    ninth = noise.next("action", torch.Size([2, 3]))  # the block is used up: a new one starts
    assert not np.allclose(ninth.numpy(), expected[..., 0])
    assert noise.next("action", torch.Size([1, 3])).shape == (1, 3)  # another batch shape: another block
    noise.reseed(3)  # a worker's copy reseeded with its own seed starts its own sequences
    assert np.allclose(noise.next("action", torch.Size([2, 3])).numpy(), expected[..., 0], atol=1e-6)
    noise.reseed(4)
    assert not np.allclose(noise.next("action", torch.Size([2, 3])).numpy(), expected[..., 0])
    with pytest.raises(ValueError, match="beta=-1 is invalid"):
        ColoredNoise(-1)


def test_gaussian_heads_take_the_given_noise_and_other_heads_sample_as_usual():
    space = gym.spaces.Dict({"torque": gym.spaces.Box(-2.0, 2.0, (2,)), "mode": gym.spaces.Discrete(3)})
    mapper = DistributionMapper(space, [{"action_space": "gymnasium.spaces.Box",
                                         "distribution": SquashedGaussianProbabilityDistribution}])
    logits = {"torque": torch.tensor([[0.5, -1.0]]), "mode": torch.zeros(1, 3)}
    dist = mapper.logits_dict_to_distribution(logits, {"torque": {"log_std": torch.tensor([0.0, float(np.log(0.5))])}})
    noise = ColoredNoise(1.0, length=4, seed=0)
    expected = colored_sequences(1.0, (1, 2), 4, np.random.default_rng(0))[..., 0]
    sample = dist.sample(noise)
    # u = mean + std * noise, the pre-squash sample rollouts store
    assert torch.allclose(sample["torque"], torch.tensor([[0.5, -1.0]]) + torch.tensor([[1.0, 0.5]])
                          * torch.as_tensor(expected, dtype=torch.float32), atol=1e-6)
    assert sample["mode"].shape == (1,) and 0 <= int(sample["mode"]) < 3


def test_sac_acts_with_colored_noise_when_asked_and_refuses_it_for_a_discrete_head(run_root):
    tiny = {"runner.n_envs": 1, "algorithm.n_epochs": 1, "algorithm.epoch_length": 20,
            "algorithm.learning_starts": 10, "algorithm.batch_size": 16, "algorithm.eval_repeats": 1}
    rc = RunContext(env="pendulum", algorithm="sac", overrides={**tiny, "algorithm.exploration_noise_beta": 1.0,
                                                                "algorithm.exploration_noise_length": 200})
    rc.train()
    noise = rc.trainer.algorithm.policy.exploration_noise
    assert isinstance(noise, ColoredNoise) and noise.beta == 1.0 and noise.length == 200
    # the collector drew its 20 steps from one block of the head's sequence
    assert noise._blocks["action"][1] == 20
    white = RunContext(env="pendulum", algorithm="sac", overrides=tiny)
    white.train()
    assert white.trainer.algorithm.policy.exploration_noise is None
    with pytest.raises(ConfigError, match="exploration_noise_beta=1.0: colored noise perturbs Gaussian"):
        RunContext(env="cartpole", algorithm="sac", overrides={**tiny, "algorithm.exploration_noise_beta": 1.0}).train()
    with pytest.raises(ConfigError, match="algorithm.exploration_noise_beta=-0.5 is invalid"):
        RunContext(env="pendulum", algorithm="sac", overrides={"algorithm.exploration_noise_beta": -0.5}).train()
