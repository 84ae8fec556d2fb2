"""Observation normalisation: exact running statistics, identical under every runner, saved, resumed, applied."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from maze_cli import ConfigError, RunContext
from maze_cli.models import ObservationNormalization, ObservationNormalizer
from maze_cli.run import prepare_run
from maze_cli.train.checkpoint import load_checkpoint

SMALL = {"algorithm.n_epochs": 2, "algorithm.epoch_length": 3, "algorithm.n_rollout_steps": 16,
         "algorithm.eval_repeats": 1}
PREFIX = "observation_normalizer.moments.observation."


def test_running_moments_equal_numpy_over_all_valid_samples():
    space = gym.spaces.Dict({"x": gym.spaces.Box(-np.inf, np.inf, shape=(2,)), "k": gym.spaces.Discrete(3)})
    normalizer = ObservationNormalizer({0: space}, ObservationNormalization(clip=0.0))
    assert list(normalizer.moments) == ["x"]  # discrete keys are one-hot encoded, not normalised
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(4, 5, 2)) for _ in range(3)]
    masks = [rng.random((4, 5)) > 0.3 for _ in range(3)]
    for x, mask in zip(batches, masks):
        normalizer.update({"x": torch.as_tensor(x, dtype=torch.float32)}, torch.as_tensor(mask))
    valid = np.concatenate([x[m] for x, m in zip(batches, masks)]).astype(np.float32).astype(np.float64)
    moments = normalizer.moments["x"]
    assert moments.count.item() == len(valid)
    assert np.allclose(moments.mean.numpy(), valid.mean(0)) and np.allclose(moments.var.numpy(), valid.var(0))
    x = torch.tensor([[1.0, 2.0]])
    out = normalizer({"x": x, "k": torch.ones(1, 3)})
    assert torch.allclose(out["x"], ((x.double() - valid.mean(0)) / np.sqrt(valid.var(0) + 1e-8)).float())
    assert torch.equal(out["k"], torch.ones(1, 3))


def test_observations_with_nan_or_inf_are_left_out_of_the_statistics_with_a_warning(maze_log):
    space = gym.spaces.Dict({"x": gym.spaces.Box(-np.inf, np.inf, shape=(2,))})
    normalizer = ObservationNormalizer({0: space}, ObservationNormalization())
    x = torch.tensor([[1.0, 10.0], [float("nan"), 0.0], [3.0, 20.0], [0.0, float("inf")]])
    normalizer.update({"x": x})
    moments = normalizer.moments["x"]
    # only rows 0 and 2 count: mean (2, 15), population variance (1, 25)
    assert moments.count.item() == 2
    assert moments.mean.tolist() == [2.0, 15.0] and moments.var.tolist() == [1.0, 25.0]
    assert "2 observation(s) of key 'x' hold NaN or inf; they were left out of its statistics" in "\n".join(maze_log)


def test_fixed_statistics_do_not_change_and_values_are_clipped():
    space = gym.spaces.Dict({"x": gym.spaces.Box(-1, 1, shape=(1,))})
    normalizer = ObservationNormalizer({0: space}, ObservationNormalization(update=False, clip=2.0))
    normalizer.update({"x": torch.ones(10, 1)})
    assert normalizer.moments["x"].count.item() == 0
    assert normalizer({"x": torch.tensor([[7.0]])})["x"].item() == 2.0


@pytest.mark.parametrize("settings, message", [
    ({"sampling_steps": -1}, "sampling_steps=-1 is invalid"),
    ({"update": False, "sampling_steps": 0}, "update=False is invalid: expected true, or sampling_steps > 0"),
    ({"exclude": ["nope"]}, "exclude: unknown observation keys ['nope']"),
])
def test_bad_settings_name_the_key(run_root, settings, message):
    overrides = {f"normalization.{k}": v for k, v in settings.items()}
    with pytest.raises(ConfigError) as err:
        RunContext(env="pendulum", normalization="obs_norm", overrides=overrides, output_dir=run_root).policy
    assert message in str(err.value)


def _train(run_root, runner, **overrides):
    rc = RunContext(env="pendulum", normalization="obs_norm", runner=runner, seed=5, output_dir=run_root,
                    overrides={**SMALL, **overrides})
    rc.train()
    return rc


def test_statistics_are_identical_under_dev_and_local_runners_and_saved_in_checkpoints(run_root):
    dev = _train(run_root, "dev", **{"runner.n_envs": 2})
    local = _train(run_root, "local", **{"runner.n_workers": 2})
    for rc in (dev, local):
        # 1000 sampled steps + 2 epochs x 3 rollouts x 16 steps x 2 envs (Pendulum never resets within 200 steps);
        # the last checkpoint has them all (in memory the policy is the best epoch's, with that epoch's statistics)
        last = load_checkpoint(rc.run_dir / "checkpoints" / "last.pt")["policy"]
        assert last[PREFIX + "count"].item() == 1000 + 2 * 3 * 16 * 2
    dev_state, local_state = dev.policy.state_dict(), local.policy.state_dict()
    for key in ("mean", "var", "count"):
        assert torch.equal(dev_state[PREFIX + key], local_state[PREFIX + key])
    checkpoint = load_checkpoint(dev.run_dir / "checkpoints" / "last.pt")  # weights_only=True
    assert set(k for k in checkpoint["policy"] if "normalizer" in k) == {PREFIX + k for k in ("mean", "var", "count")}
    assert torch.equal(checkpoint["policy"][PREFIX + "mean"], checkpoint["critic"][PREFIX + "mean"])
    assert dev.policy.observation_normalizer is dev.trainer.critic.observation_normalizer  # one shared module


def test_resume_restores_the_statistics_and_evaluation_applies_them(run_root):
    first = _train(run_root, "dev")
    saved = load_checkpoint(first.run_dir / "checkpoints" / "last.pt")["policy"]
    resumed = RunContext(env="pendulum", normalization="obs_norm", seed=6, output_dir=run_root,
                         overrides={**SMALL, "input_dir": str(first.run_dir)})
    _, _, trainer = prepare_run(resumed.cfg, run_root / "resumed")
    for key in ("mean", "var", "count"):
        assert torch.equal(trainer.policy.state_dict()[PREFIX + key], saved[PREFIX + key])
    # compute_action takes a raw env observation and normalises it with the saved statistics
    policy = trainer.policy
    raw = np.array([0.5, -0.2, 3.0], dtype=np.float32)
    mean, var = saved[PREFIX + "mean"], saved[PREFIX + "var"]
    normalised = ((torch.as_tensor(raw).double() - mean) / torch.sqrt(var + 1e-8)).float()[None]
    expected_mean = policy.networks["0"]({"observation": normalised})["action"]
    action = policy.compute_action({"observation": raw}, deterministic=True)["action"]
    assert np.allclose(action, np.clip(expected_mean.detach().numpy()[0], -2, 2), atol=1e-6)


def test_fixed_sampled_statistics_stay_fixed_during_training(run_root):
    rc = _train(run_root, "dev", **{"normalization.update": False,
                                    "normalization.sampling_steps": 300})
    assert rc.policy.state_dict()[PREFIX + "count"].item() == 300
