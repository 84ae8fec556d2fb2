"""Budgets in env steps: the same budget trains the same env steps on any runner and number of envs."""
import csv

import pytest

from cli_helpers import maze_run, only_run_dir
from maze_cli import A2CAlgorithmConfig, ConfigError, SACAlgorithmConfig
from maze_cli.train.budget import apply_budget, describe_budget

BUDGET = ["budget.env_steps=4000", "budget.eval_every_env_steps=800", "algorithm.n_rollout_steps=20",
          "algorithm.eval_repeats=1"]


def test_budget_sets_epochs_and_epoch_length_from_env_steps():
    algo = A2CAlgorithmConfig(n_rollout_steps=20)
    budgeted = apply_budget(algo, n_envs=4, budget={"env_steps": 10_000, "eval_every_env_steps": 800})
    assert (budgeted.epoch_length, budgeted.n_epochs) == (10, 13)  # 800 = 10 x 20 x 4; 13 x 800 >= 10,000
    assert algo.epoch_length == 25  # the given config is not changed
    sac = apply_budget(SACAlgorithmConfig(train_freq=1), n_envs=1, budget={"env_steps": 20_000})
    assert sac.n_epochs == 20  # 1,000 updates of one env step per epoch
    assert "4 envs, 80 env steps per update, 10 updates per epoch" in describe_budget(budgeted, 4)


@pytest.mark.parametrize("budget, message", [({"env_steps": 0}, "budget.env_steps=0 is invalid"),
                                             ({"steps": 5}, "budget.steps: unknown key")])
def test_bad_budgets_name_the_key(budget, message):
    with pytest.raises(ConfigError, match=message):
        apply_budget(A2CAlgorithmConfig(), 4, budget)


def test_dev_and_local_runners_train_the_same_env_steps_for_the_same_budget(run_root):
    steps = {}
    for runner in (["runner=dev"], ["runner=local", "runner.n_workers=2"]):  # 4 envs vs 2 envs
        result = maze_run(runner + BUDGET, cwd=run_root)
        assert result.returncode == 0, result.stderr
        assert "evaluation every 800 env steps" in result.stderr + result.stdout
        run = only_run_dir(run_root)
        with open(run / "stats.csv") as f:
            rows = list(csv.DictReader(f))
        steps[runner[0]] = [int(float(r["time/env_steps"])) for r in rows]
        run.rename(run_root / runner[0])  # keep only_run_dir's view to the next run
    assert steps["runner=dev"] == steps["runner=local"] == [800, 1600, 2400, 3200, 4000]
