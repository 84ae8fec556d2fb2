"""Bad input to the Python API fails early with one message that says what was expected."""
from typing import Dict

import gymnasium as gym
import pytest
import torch
from torch import nn

from maze_cli import (ConfigError, DistributionMapper, GymMazeEnv, ProbabilisticPolicyComposer, RunContext,
                      SharedStateCriticComposer)

ENV = GymMazeEnv("CartPole-v1")


class WrongHeadNet(nn.Module):
    def __init__(self, obs_shapes, action_logit_shapes):
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x: Dict[str, torch.Tensor]):
        return {"move": self.linear(x["observation"])}


class WrongShapeNet(WrongHeadNet):
    def __init__(self, obs_shapes, action_logit_shapes):
        super().__init__(obs_shapes, action_logit_shapes)
        self.linear = nn.Linear(4, 3)

    def forward(self, x):
        return {"action": self.linear(x["observation"])}


def _policy(net):
    return ProbabilisticPolicyComposer(ENV.action_spaces_dict, ENV.observation_spaces_dict,
                                       DistributionMapper(ENV.action_space), [net], [], {0: 1})


def test_policy_net_with_wrong_output_key_names_the_expected_head():
    with pytest.raises(ValueError, match=r"returned \['move'\], expected a dict with the action heads \['action'\]"):
        _policy(WrongHeadNet(None, None))


def test_policy_net_with_wrong_logits_shape_names_head_and_expected_shape():
    with pytest.raises(ValueError, match=r"action head 'action' have shape \(3,\).*expected \(2,\)"):
        _policy(WrongShapeNet(None, None))


def test_policy_net_config_with_wrong_shape_fails_when_composer_is_built():
    with pytest.raises(ValueError, match="action head 'action'"):
        _policy({"_target_": f"{__name__}.WrongShapeNet"})


def test_value_net_without_value_key_fails_at_build():
    with pytest.raises(ValueError, match="expected a dict with key 'value'"):
        SharedStateCriticComposer(ENV.observation_spaces_dict, {0: 1}, [WrongShapeNet(None, None)])


def test_non_callable_env_factory():
    with pytest.raises(ConfigError, match="expected a preset name or a zero-argument callable"):
        RunContext(env=42)


def test_env_factory_returning_a_non_maze_env(run_root):
    rc = RunContext(env=lambda: gym.make("CartPole-v1"), overrides={"algorithm.n_epochs": 1})
    with pytest.raises(ConfigError, match="returned .*expected a MazeEnv"):
        rc.train()


def test_unknown_gymnasium_id():
    with pytest.raises(ValueError, match="unknown gymnasium env id 'NoSuchEnv-v9'"):
        GymMazeEnv("NoSuchEnv-v9")


def test_unknown_gymnasium_id_through_the_config(run_root):
    rc = RunContext(env="gym", overrides={"env.name": "NoSuchEnv-v9"})
    with pytest.raises(ValueError, match="unknown gymnasium env id 'NoSuchEnv-v9'"):
        rc.train()


def test_unknown_runner_name_lists_the_available_ones():
    with pytest.raises(ConfigError, match="runner.*nope.*dev.*local"):
        RunContext(runner="nope")


@pytest.mark.parametrize("key, value, message", [
    ("algorithm.lr", -1.0, r"algorithm.lr=-1.0 is invalid: expected a learning rate > 0"),
    ("algorithm.gamma", 1.5, r"algorithm.gamma=1.5 is invalid: expected a discount in \(0, 1\]"),
    ("algorithm.n_rollout_steps", 0, "algorithm.n_rollout_steps=0 is invalid: expected an integer >= 1"),
    ("algorithm.lr", "fast", "algorithm.lr='fast' is invalid"),
    ("runner.n_envs", 0, "runner.n_envs=0 is invalid"),
])
def test_out_of_range_or_wrong_type_values_fail_before_training(run_root, key, value, message):
    rc = RunContext(env="cartpole", algorithm="a2c", overrides={key: value})
    with pytest.raises(ConfigError, match=message):
        rc.train()
    assert not list(run_root.rglob("*.pt")), "no checkpoint may be written for a bad config"


def test_bad_hyper_parameter_in_python_config():
    from maze_cli import A2CAlgorithmConfig
    with pytest.raises(ConfigError, match="algorithm.patience=0"):
        A2CAlgorithmConfig(patience=0)


def test_override_of_a_group_given_as_an_object_fails_instead_of_being_dropped():
    policy = {"_target_": "maze_cli.ProbabilisticPolicyComposer",
              "networks": {"_target_": "maze_cli.models.DefaultPolicyNet", "hidden_units": [64, 64]}}
    with pytest.raises(ConfigError, match=r"overrides\['policy.networks.hidden_units'\] would be lost: policy= "
                                          r"is a Python object"):
        RunContext(env="cartpole", policy=policy, overrides={"policy.networks.hidden_units": [32]})
