"""Run directories are named after what ran: the env preset, a replaced env target, a gymnasium id, a factory."""
import os

from cli_helpers import REPO, maze_run, only_run_dir
from maze_cli import GymMazeEnv, RunContext
from maze_cli.help import env_label

TINY = ["algorithm.n_epochs=1", "algorithm.epoch_length=1", "algorithm.n_rollout_steps=5", "algorithm.eval_repeats=1"]


def make_line_env():
    return GymMazeEnv("CartPole-v1")


def test_labels_of_presets_targets_gym_ids_and_python_objects():
    assert env_label({"_target_": "maze_cli.envs.make_gym_env", "name": "CartPole-v1"}, "cartpole") == "cartpole"
    assert env_label({"_target_": "mypkg.sims.make_plant"}, "cartpole") == "make_plant"
    assert env_label({"_target_": "maze_cli.envs.make_gym_env", "name": "ALE/Pong-v5"}, "gym") == "ALE_Pong-v5"
    assert env_label({"_python_object_": "test_run_names.<lambda>"}, "custom") == "lambda"


def test_a_custom_env_target_names_the_cli_run_directory(run_root):
    env = {"PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
    result = maze_run(["env._target_=faulty_envs.slow_cartpole", "~env.name", "+env.sleep=0"] + TINY, run_root, env=env)
    assert result.returncode == 0, result.stderr
    assert only_run_dir(run_root).parent.name == "slow_cartpole-a2c-dev"


def test_python_factories_name_the_run_directory(run_root):
    rc = RunContext(env=make_line_env, overrides=dict(item.split("=") for item in TINY))
    rc.train()
    assert rc.run_dir.parent.name == "make_line_env-a2c-dev"


def test_a_gymnasium_module_colon_id_trains(run_root):
    env = {"PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
    result = maze_run(["env=gym", "env.name=line_env:Line-v0"] + TINY, run_root, env=env)
    assert result.returncode == 0, result.stderr
    assert only_run_dir(run_root).parent.name == "line_env_Line-v0-a2c-dev"
