"""Action masks: masked actions are never sampled nor the mode; log-probs and entropies equal those of
torch.distributions.Categorical over the renormalised valid actions; masks reach the policy of ordinary
and structured envs; a mask allowing nothing fails clearly; masked packing learns faster than unmasked."""
import csv

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import distributions as td

from maze_cli import RunContext
from maze_cli.distributions import CategoricalProbabilityDistribution, MultiCategoricalProbabilityDistribution
from maze_cli.envs import PackingEnv
from maze_cli.models.policy import ProbabilisticPolicyComposer


def _random_masks(generator: torch.Generator, rows: int, n: int) -> torch.Tensor:
    """Random boolean masks with at least one allowed action per row."""
    mask = torch.rand(rows, n, generator=generator) < 0.4
    mask[torch.arange(rows), torch.randint(n, (rows,), generator=generator)] = True
    return mask


def _reference(logits: torch.Tensor, mask: torch.Tensor) -> td.Categorical:
    """Categorical over the valid actions only, renormalised, computed without the masking code path."""
    probs = torch.softmax(logits, -1) * mask
    return td.Categorical(probs=probs / probs.sum(-1, keepdim=True))


@pytest.mark.parametrize("seed", range(5))
def test_categorical_masks_match_the_renormalised_reference(seed):
    generator = torch.Generator().manual_seed(seed)
    n = int(torch.randint(2, 9, (1,), generator=generator))
    logits = torch.randn(64, n, generator=generator) * 3
    mask = _random_masks(generator, 64, n)
    dist = CategoricalProbabilityDistribution(logits, gym.spaces.Discrete(n), mask=mask.to(torch.int8))
    ref = _reference(logits, mask)
    samples = torch.stack([dist.sample() for _ in range(200)])
    assert mask.gather(1, samples.T).all(), "a masked action was sampled"
    assert mask[torch.arange(64), dist.deterministic_sample()].all(), "a masked action was the mode"
    assert torch.equal(dist.deterministic_sample(), ref.probs.argmax(-1))
    valid = samples[0]
    assert torch.allclose(dist.log_prob(valid), ref.log_prob(valid), atol=1e-5)
    assert torch.allclose(dist.entropy(), ref.entropy(), atol=1e-5)


def test_multi_categorical_masks_each_dimension():
    generator = torch.Generator().manual_seed(0)
    nvec = [3, 4]
    logits = torch.randn(32, 7, generator=generator)
    masks = [_random_masks(generator, 32, n) for n in nvec]
    dist = MultiCategoricalProbabilityDistribution(logits, gym.spaces.MultiDiscrete(nvec), mask=torch.cat(masks, -1))
    refs = [_reference(chunk, m) for chunk, m in zip(torch.split(logits, nvec, -1), masks)]
    for _ in range(50):
        sample = dist.sample()
        assert all(m[torch.arange(32), sample[:, i]].all() for i, m in enumerate(masks))
    mode = dist.deterministic_sample()
    assert all(m[torch.arange(32), mode[:, i]].all() for i, m in enumerate(masks))
    assert torch.allclose(dist.log_prob(mode), sum(r.log_prob(mode[:, i]) for i, r in enumerate(refs)), atol=1e-5)
    assert torch.allclose(dist.entropy(), sum(r.entropy() for r in refs), atol=1e-5)


def test_structured_policy_applies_each_sub_steps_mask():
    env = PackingEnv(n_bins=3, n_decoys=2, action_masks=True)
    policy = ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict).policy
    assert policy.mask_keys == {0: {"item": "item_mask"}, 1: {"bin": "bin_mask"}}
    generator = torch.Generator().manual_seed(1)
    for step, head, n in [(0, "item", 5), (1, "bin", 3)]:
        space = env.observation_spaces_dict[step]
        obs = {key: np.stack([space[key].sample() for _ in range(128)]) for key in space.spaces}
        mask = _random_masks(generator, 128, n)
        obs[f"{head}_mask"] = mask.numpy().astype(np.int8)
        for deterministic in (False, True):
            actions = policy.compute_actions(obs, (step, 0), deterministic=deterministic)[head]
            assert mask[torch.arange(128), torch.as_tensor(actions)].all(), (step, deterministic)


def test_a_mask_allowing_nothing_names_actor_and_row():
    env = PackingEnv(action_masks=True)
    policy = ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict).policy
    obs, _ = env.reset(seed=0)
    obs = {key: np.stack([value, value]) for key, value in obs.items()}
    obs["item_mask"][1] = 0
    with pytest.raises(ValueError, match=r"actor \(sub-step, agent\) \(0, 0\).*allows no action in batch row\(s\) \[\(1,\)\]"):
        policy.compute_actions(obs, (0, 0))


def test_configured_mask_keys_are_checked():
    env = PackingEnv(action_masks=True)
    with pytest.raises(ValueError, match=r"action head\(s\) \['itme'\]"):
        ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict, action_masks={"itme": "x"})
    with pytest.raises(ValueError, match=r"head 'bin' is masked by observation key 'nope'"):
        ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict, action_masks={"bin": "nope"})
    with pytest.raises(ValueError, match=r"mask key 'free' has space"):
        ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict, action_masks={"item": "free"})


class StrictPackingEnv(PackingEnv):
    """Packing with masks that refuses masked actions: training through it proves every path masks."""

    def step(self, action):
        obs = self._observation()
        key, head = ("item_mask", "item") if "item_mask" in obs else ("bin_mask", "bin")
        if not obs[key][int(action[head])]:
            raise ValueError(f"masked {head} {int(action[head])} taken (mask {obs[key].tolist()})")
        return super().step(action)


MASK_SETTINGS = {"runner.n_envs": 32, "algorithm.n_rollout_steps": 10, "algorithm.epoch_length": 25,
                 "algorithm.lr": 0.002, "algorithm.gamma": 0.99, "algorithm.entropy_coef": 0.01,
                 "algorithm.eval_repeats": 100, "algorithm.deterministic_eval": True}
FLAT_STEPS_PER_EPOCH = 32 * 10 * 25 // 2


def _eval_returns(rc: RunContext):
    with open(rc.run_dir / "stats.csv") as f:
        return [(int(r["time/env_steps"]), float(r["eval/episode_return_mean"])) for r in csv.DictReader(f)]


@pytest.mark.learning
@pytest.mark.parametrize("seed", [1, 2])
def test_masked_packing_reaches_the_optimum_faster_than_unmasked(run_root, seed):
    """Within 8,000 flat steps the masked policy packs (near) optimally; the unmasked one is far from it."""
    masked = RunContext(env=lambda: StrictPackingEnv(action_masks=True), algorithm="a2c", runner="dev",
                        overrides=MASK_SETTINGS, seed=seed)
    masked.train(n_epochs=2)
    plain = RunContext(env="packing", algorithm="a2c", runner="dev", overrides=MASK_SETTINGS, seed=seed)
    plain.train(n_epochs=2)
    masked_returns, plain_returns = _eval_returns(masked), _eval_returns(plain)
    assert masked_returns[-1][0] == plain_returns[-1][0] == 2 * FLAT_STEPS_PER_EPOCH
    assert masked_returns[-1][1] >= 0.95, masked_returns
    assert plain_returns[-1][1] < masked_returns[-1][1] - 0.2, (masked_returns, plain_returns)
