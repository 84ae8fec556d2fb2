"""Stop rules and loggers plug into the training loop from outside the package, through config."""
import csv

import pytest

from maze_cli import RunContext
from maze_cli.train.config import ConfigError
from user_callbacks import ListLogger


def test_user_stop_rule_and_logger_from_config(run_root):
    ListLogger.rows.clear()
    ListLogger.events.clear()
    rc = RunContext(env="cartpole", algorithm="a2c", runner="dev", overrides={
        "algorithm.n_epochs": 10, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 50,
        "algorithm.eval_repeats": 1,
        "+callbacks.steps._target_": "user_callbacks.StopAfterEnvSteps", "+callbacks.steps.env_steps": 1000,
        "+callbacks.rows._target_": "user_callbacks.ListLogger"})
    rc.train()
    # 4 envs x 50 steps x 2 updates = 400 env steps per epoch: the rule stops after epoch 3 (1,200 steps)
    assert [row["epoch"] for row in ListLogger.rows] == [1, 2, 3]
    assert ListLogger.rows[-1]["env_steps"] == 1200
    assert "eval/episode_return_mean" in ListLogger.rows[0]
    assert ListLogger.events == ["start", "end"]
    with open(rc.run_dir / "stats.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 3
    assert "stop: 1200 env steps >= 1000" in (rc.run_dir / "maze_cli.log").read_text()


def test_callback_without_hooks_is_refused(run_root):
    rc = RunContext(env="cartpole", algorithm="a2c", runner="dev",
                    overrides={"+callbacks.bad._target_": "user_callbacks.NotACallback"})
    with pytest.raises(ConfigError, match=r"callbacks.bad: NotACallback has none of the hooks"):
        rc.train()
