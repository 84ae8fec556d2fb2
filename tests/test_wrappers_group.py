"""The wrappers group takes gymnasium wrappers (inside GymMazeEnv) and MazeEnv wrappers; anything else is refused."""
import csv

import pytest

from cli_helpers import maze_run
from maze_cli import ConfigError, RunContext

TINY = {"algorithm.n_epochs": 1, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 20,
        "algorithm.eval_repeats": 1}


def test_gymnasium_and_maze_env_wrappers_train(run_root):
    rc = RunContext(env="pendulum", overrides={
        **TINY, "+wrappers.limit._target_": "gymnasium.wrappers.TimeLimit", "+wrappers.limit.max_episode_steps": 30,
        "+wrappers.reward._target_": "gymnasium.wrappers.NormalizeReward",
        "+wrappers.clip._target_": "gymnasium.wrappers.ClipAction",
        "+wrappers.stats._target_": "maze_cli.LogStatsWrapper", "+wrappers.stats.logging_prefix": "extra"})
    rc.train()
    env = rc.env_factory()
    assert env.get_wrapper_attr("observation_spaces_dict")[0]["observation"].shape == (3,)
    rows = list(csv.DictReader(open(rc.run_dir / "stats.csv")))
    assert float(rows[0]["train/episode_length_mean"]) == 30.0  # the TimeLimit cut the 200-step episodes


def test_a_target_that_is_not_a_wrapper_is_refused_in_one_line(run_root):
    result = maze_run(["+wrappers.bad._target_=collections.OrderedDict", "algorithm.n_epochs=1"], run_root)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("Error: ConfigError: wrappers.bad: OrderedDict is not an env wrapper: expected a gymnasium wrapper "
            "(gymnasium.wrappers.*) or a MazeEnv wrapper taking env=<MazeEnv>") in result.stderr


def test_seed_must_be_an_integer(run_root):
    with pytest.raises(ConfigError, match=r"seed='abc' is invalid: expected an integer"):
        RunContext(env="cartpole", overrides={"seed": "abc"}).policy
