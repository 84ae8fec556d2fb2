"""Runs built in Python from importable objects are written to config.yaml as _target_ nodes, so maze-run
replays them; non-importable objects are recorded as such and replaying them says what to do."""
import pytest
from omegaconf import OmegaConf

from cli_helpers import REPO, maze_run
from maze_cli import ConfigError, GymMazeEnv, RunContext
from python_objects import TinyPolicyNet, make_cartpole

TESTS_PATH = {"PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
SHORT = {"algorithm.n_epochs": 1, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 10,
         "algorithm.eval_repeats": 1}


def test_importable_factory_and_network_class_roll_out_from_the_cli(run_root):
    rc = RunContext(env=make_cartpole, policy=TinyPolicyNet, overrides=SHORT)
    rc.train()
    saved = OmegaConf.load(rc.run_dir / "config.yaml")
    assert saved.env._target_ == "python_objects.make_cartpole"
    assert saved.policy.networks._target_ == "python_objects.TinyPolicyNet"
    assert saved.policy._target_ == "maze_cli.ProbabilisticPolicyComposer"
    assert isinstance(rc.policy.networks["0"], TinyPolicyNet)
    result = maze_run(["-cn", "rollout", f"input_dir={rc.run_dir}", "n_episodes=2"], cwd=run_root, env=TESTS_PATH)
    assert result.returncode == 0, result.stderr
    assert "2 episodes" in result.stdout + result.stderr


def test_a_network_target_dict_configures_the_preset_composer(run_root):
    rc = RunContext(policy={"_target_": "python_objects.TinyPolicyNet", "hidden": 8}, overrides=SHORT)
    assert rc.policy.networks["0"].body[0].out_features == 8


def test_a_lambda_env_is_recorded_and_replaying_it_says_to_rebuild_in_python(run_root):
    rc = RunContext(env=lambda: GymMazeEnv("CartPole-v1"), overrides=SHORT)
    rc.train()
    assert "_python_object_" in OmegaConf.load(rc.run_dir / "config.yaml").env
    result = maze_run(["-cn", "rollout", f"input_dir={rc.run_dir}"], cwd=run_root)
    assert result.returncode == 1 and "cannot be imported (a lambda" in result.stderr, result.stderr
    with pytest.raises(ConfigError, match="rebuild the run in Python"):
        RunContext(overrides={"input_dir": str(rc.run_dir)}).train()
