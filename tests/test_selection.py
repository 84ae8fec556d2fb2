"""Model selection keeps the policy that is best on evidence: a new best is confirmed on fresh episodes."""
import csv

import pytest
import torch

from maze_cli import ConfigError, RunContext
from python_objects import CoinFlipEnv

# 2 stochastic evaluation episodes per epoch, as in the Maze tutorial: the noisiest selection there is
NOISY = {"algorithm.n_epochs": 12, "algorithm.epoch_length": 1, "algorithm.n_rollout_steps": 4,
         "algorithm.eval_repeats": 2, "algorithm.deterministic_eval": False, "algorithm.patience": 100}


def rows_of(rc):
    with open(rc.run_dir / "stats.csv") as f:
        return list(csv.DictReader(f))


def test_without_confirmation_a_coin_flip_env_reports_a_lucky_best(run_root):
    rc = RunContext(env=CoinFlipEnv, seed=3, overrides={**NOISY, "selection.confirm_episodes": 0})
    assert rc.train() == 1.0  # two heads in a row: every policy of this env is worth 0.5


def test_a_confirmed_best_is_the_mean_of_fresh_episodes_and_its_checkpoint_is_that_epoch(run_root):
    rc = RunContext(env=CoinFlipEnv, seed=3, overrides={**NOISY, "selection.confirm_episodes": 40})
    best = rc.train()
    rows = rows_of(rc)
    confirmed = {int(r["epoch"]): float(r["eval/confirmed_selection"]) for r in rows if r.get("eval/confirmed_selection")}
    assert confirmed and best == max(confirmed.values())
    assert best <= 0.75  # the max of a few 40-episode means of a fair coin, not the 1.0 of two lucky episodes
    # confirmations happen only for evaluations that beat the best so far, each on its own fresh seeds
    assert all(float(rows[epoch - 1]["eval/episode_return_mean"]) > 0 for epoch in confirmed)
    best_epoch = max(confirmed, key=confirmed.get)
    assert torch.load(rc.run_dir / "checkpoints" / "best.pt", weights_only=True)["epoch"] == best_epoch
    assert float(rows[-1]["eval/best_return"]) == best


def test_a_candidate_the_fresh_episodes_do_not_confirm_is_not_kept(run_root):
    rc = RunContext(env=CoinFlipEnv, seed=3, overrides={**NOISY, "selection.confirm_episodes": 40})
    rc.train()
    best_so_far = float("-inf")
    for row in rows_of(rc):
        if row.get("eval/confirmed_selection"):
            best_so_far = max(best_so_far, float(row["eval/confirmed_selection"]))
        assert float(row["eval/best_return"]) == best_so_far
    assert best_so_far > float("-inf")


@pytest.mark.parametrize("value", [-1, 2.5, "many"])
def test_bad_confirm_episodes_fail_before_training(run_root, value):
    with pytest.raises(ConfigError, match=r"selection.confirm_episodes=.* is invalid: expected an integer >= 0"):
        RunContext(env=CoinFlipEnv, overrides={**NOISY, "selection.confirm_episodes": value}).train()
