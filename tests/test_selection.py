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


def test_the_best_is_worth_what_fresh_episodes_say_and_its_checkpoint_is_the_kept_epoch(run_root):
    rc = RunContext(env=CoinFlipEnv, seed=3, overrides={**NOISY, "selection.confirm_episodes": 40})
    best = rc.train()
    rows = rows_of(rc)
    assert abs(best - 0.5) <= 0.15  # every policy of this env is worth 0.5; two lucky episodes said 1.0
    # confirmations happen only for evaluations that beat the best so far
    confirmed = [r for r in rows if r.get("eval/confirmed_selection")]
    assert confirmed and all(float(r["eval/episode_return_mean"]) > 0 for r in confirmed)
    kept = [int(r["epoch"]) for r in rows if float(r["eval/new_best"]) == 1.0]
    assert set(kept) <= {int(r["epoch"]) for r in confirmed}
    assert torch.load(rc.run_dir / "checkpoints" / "best.pt", weights_only=True)["epoch"] == kept[-1]
    assert float(rows[-1]["eval/best_return"]) == best


def test_a_candidate_is_kept_only_if_it_beats_the_best_on_the_same_fresh_episodes(run_root):
    n = 40
    rc = RunContext(env=CoinFlipEnv, seed=3, overrides={**NOISY, "selection.confirm_episodes": n})
    rc.train()
    best, evidence, challenged = float("-inf"), [], 0
    for row in rows_of(rc):
        if row.get("eval/confirmed_selection"):
            candidate = float(row["eval/confirmed_selection"])
            if row.get("eval/best_on_same_episodes"):  # the best played the candidate's episodes too
                challenged += 1
                evidence.append(float(row["eval/best_on_same_episodes"]))
                best = sum(evidence) / len(evidence)  # its value: the mean over all it has played
            if candidate > best:
                best, evidence = candidate, [candidate]
        assert float(row["eval/best_return"]) == pytest.approx(best)
    assert challenged >= 2


@pytest.mark.parametrize("value", [-1, 2.5, "many"])
def test_bad_confirm_episodes_fail_before_training(run_root, value):
    with pytest.raises(ConfigError, match=r"selection.confirm_episodes=.* is invalid: expected an integer >= 0"):
        RunContext(env=CoinFlipEnv, overrides={**NOISY, "selection.confirm_episodes": value}).train()
