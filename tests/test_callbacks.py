"""Stop rules and loggers plug into the training loop from outside the package, through config."""
import csv

import pytest

from maze_cli import ConfigError, RunContext
from maze_cli.core.device import available_devices
from maze_cli.train.loop import epoch_update_stats
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


def test_epoch_statistics_average_losses_and_keep_the_last_of_other_values():
    stats = epoch_update_stats([{}, {"losses/q": 1.0, "train/learning_rate": 0.3}, {"losses/q": 3.0,
                                                                                     "train/learning_rate": 0.1}])
    assert stats == {"losses/q": 2.0, "train/learning_rate": 0.1}


def test_device_auto_trains_on_the_cpu_here_and_an_unknown_device_is_refused(run_root):
    rc = RunContext(env="cartpole", algorithm="a2c", runner="dev", overrides={
        "algorithm.device": "auto", "algorithm.n_epochs": 1, "algorithm.epoch_length": 2,
        "algorithm.n_rollout_steps": 20})
    rc.train()
    assert {p.device.type for p in rc.policy.parameters()} == {"cpu"}
    assert available_devices()[0] == "cpu"
    with pytest.raises(ConfigError, match=r"algorithm.device='cuda:7' is not available on this machine: "
                                          r"available devices: \['cpu'"):
        RunContext(env="cartpole", overrides={"algorithm.device": "cuda:7"}).policy


def test_a_nan_evaluation_is_never_solved():
    from maze_cli.train.stop_rules import StopAtReturn

    from maze_cli.train.selection import ModelSelectionCallback

    class Loop:
        evaluator, epoch, env_steps, reason = None, 1, 100, None
        model_selection = ModelSelectionCallback()

        def request_stop(self, reason):
            Loop.reason = reason
    rule = StopAtReturn(475.0, confirm_episodes=0)
    rule.on_epoch_end(Loop(), {"eval/episode_return_mean": float("nan")})
    assert Loop.reason is None
    rule.on_epoch_end(Loop(), {"eval/episode_return_mean": 480.0})
    assert Loop.reason.startswith("solved: eval return 480.0 >= 475 at 100 env steps")
