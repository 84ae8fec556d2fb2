"""Model selection keeps the policy that is best on evidence: a new best is confirmed on fresh episodes."""
import csv

import pytest
import torch

from maze_cli import ConfigError, RunContext
from maze_cli.train.selection import ModelSelectionCallback, ReportBest
from maze_cli.train.stop_rules import StopAtReturn
from python_objects import CoinFlipEnv

# 2 stochastic evaluation episodes per epoch, as in the Maze tutorial: the noisiest selection there is
# (report_episodes=0: these tests follow the value that selected the weights; the report's own tests set it)
NOISY = {"algorithm.n_epochs": 12, "algorithm.epoch_length": 1, "algorithm.n_rollout_steps": 4,
         "algorithm.eval_repeats": 2, "algorithm.deterministic_eval": False, "algorithm.patience": 100,
         "selection.report_episodes": 0}


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
    # confirmations happen only for evaluations that beat (or tie) the best so far
    confirmed = [r for r in rows if r.get("eval/confirmed_selection")]
    assert confirmed and all(float(r["eval/episode_return_mean"]) > 0 for r in confirmed)
    kept = [int(r["epoch"]) for r in rows if float(r["eval/new_best"]) == 1.0]
    assert set(kept) <= {int(r["epoch"]) for r in confirmed}
    assert torch.load(rc.run_dir / "checkpoints" / "best.pt", weights_only=True)["epoch"] == kept[-1]
    assert float(rows[-1]["eval/best_return"]) == best


def test_a_candidate_is_kept_only_if_it_is_as_good_as_the_best_on_the_same_fresh_episodes(run_root):
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
            if candidate >= best:
                best, evidence = candidate, [candidate]
        assert float(row["eval/best_return"]) == pytest.approx(best)
    assert challenged >= 2


def test_the_run_reports_what_the_kept_weights_score_on_held_out_episodes(run_root):
    # the lucky 1.0 of the first test selects the weights, and 40 held-out episodes say what they are worth
    rc = RunContext(env=CoinFlipEnv, seed=3, overrides={**NOISY, "selection.confirm_episodes": 0,
                                                        "selection.report_episodes": 40})
    best = rc.train()
    rows = rows_of(rc)
    assert abs(best - 0.5) <= 0.2 and best == float(rows[-1]["eval/best_return"])
    assert float(rows[-1]["eval/best_selected_return"]) == 1.0
    assert float(rows[-1]["eval/best_report_episodes"]) == 40
    assert [bool(r.get("eval/best_report_episodes")) for r in rows] == [False] * 11 + [True]  # the last epoch's only


@pytest.mark.parametrize("key", ["confirm_episodes", "report_episodes"])
@pytest.mark.parametrize("value", [-1, 2.5, "many"])
def test_bad_selection_episodes_fail_before_training(run_root, key, value):
    with pytest.raises(ConfigError, match=rf"selection.{key}=.* is invalid: expected an integer >= 0"):
        RunContext(env=CoinFlipEnv, overrides={**NOISY, f"selection.{key}": value}).train()


class ScriptedLoop:
    """The parts of a training loop that selection and the stop rule use; fresh episodes score what the script says."""

    def __init__(self, confirm_returns):
        self.model_selection = ModelSelectionCallback(confirm_episodes=10)
        self.confirm_returns = list(confirm_returns)
        self.evaluator, self.policy, self.epoch, self.env_steps, self.reason = self, None, 1, 1000, None
        self.net = torch.nn.Linear(1, 1)

    @property
    def selection(self):
        return self.model_selection.selection

    def confirm(self, policy, n, same_episodes=False):
        return {"eval/episode_return_mean": self.confirm_returns.pop(0)}

    def models(self):
        return {"policy": self.net}

    def save(self, path):
        pass

    def request_stop(self, reason):
        self.reason = reason

    @property
    def finishing(self):  # as TrainingLoop.finishing (target_epoch and stop_reason: set by the tests that need it)
        return self.stop_reason is not None or self.epoch >= self.target_epoch

    def end_epoch(self, rule, eval_return):
        stats = {"eval/episode_return_mean": eval_return}
        self.model_selection.on_epoch_end(self, stats)
        rule.on_epoch_end(self, stats)
        return stats


def test_a_stop_at_the_threshold_is_judged_on_every_fresh_episode_of_the_policy_it_hands_back():
    rule = StopAtReturn(475.0, confirm_episodes=20)
    # selection's 10 fresh episodes: 470; the stop rule's 20: 490 -> the best's value is (10 * 470 + 20 * 490) / 30
    loop = ScriptedLoop([470.0, 490.0])
    stats = loop.end_epoch(rule, 480.0)
    assert stats["eval/best_return"] == pytest.approx(483.33, abs=0.01) == loop.selection.best_return
    assert loop.reason.startswith("solved: eval return 483.3 >= 475 on 30 fresh episodes")
    # the same, but the 20 say 460: (4700 + 9200) / 30 = 463.3, below 475, so it trains on
    loop = ScriptedLoop([470.0, 460.0])
    assert loop.end_epoch(rule, 480.0)["eval/best_return"] == pytest.approx(463.33, abs=0.01)
    assert loop.reason is None
    # the next epoch evaluates at 480 too, but on the same 10 fresh episodes it scores 450 and the best 470: the
    # best (465 over its 40 episodes) is kept, and it is below the threshold, so the run does not stop
    loop.confirm_returns = [450.0, 470.0]
    stats = loop.end_epoch(rule, 480.0)
    assert stats["eval/new_best"] == 0.0 and loop.selection.best_return == pytest.approx(465.0)
    assert loop.reason is None


def test_at_a_return_ceiling_later_weights_that_hold_it_replace_the_first_to_touch_it():
    loop = ScriptedLoop([500.0, 500.0, 500.0, 498.0, 500.0])
    first = loop.end_epoch(NoStop(), 500.0)
    assert first["eval/new_best"] == 1.0
    loop.net.weight.data.fill_(2.0)
    tie = loop.end_epoch(NoStop(), 500.0)  # candidate and best both 500 on the same 10 fresh episodes
    assert tie["eval/new_best"] == 1.0 and float(loop.model_selection._best["policy"]["weight"]) == 2.0
    assert loop.selection.epochs_without_improvement == 1  # kept, but no improvement for patience
    loop.net.weight.data.fill_(3.0)
    worse = loop.end_epoch(NoStop(), 500.0)  # 498 against the best's 500 on the same episodes
    assert worse["eval/new_best"] == 0.0 and float(loop.model_selection._best["policy"]["weight"]) == 2.0
    assert loop.selection.epochs_without_improvement == 2


class NoStop:
    def on_epoch_end(self, loop, stats):
        pass


def test_a_stop_on_an_earlier_best_first_gives_it_as_many_fresh_episodes_as_the_stop_rule_asks_for():
    rule = StopAtReturn(475.0, confirm_episodes=20)
    # epoch 1: evaluation 470 (below 475, so no stop test), kept on its 10 confirmation episodes at 480
    loop = ScriptedLoop([480.0, 460.0])
    assert loop.end_epoch(rule, 470.0)["eval/new_best"] == 1.0 and loop.reason is None
    # epoch 2: evaluation 476 reaches 475 but does not beat 480: the stop is judged on the best, which has 10
    # episodes of evidence; 10 more say 460, so its value is 470 over 20 and the run trains on
    stats = loop.end_epoch(rule, 476.0)
    assert stats["eval/new_best"] == 0.0 and loop.reason is None
    assert loop.selection.best_return == pytest.approx(470.0) == stats["eval/best_return"]
    assert loop.model_selection.evidence_episodes == 20
    # the same, but the 10 more say 490: 485 on 20 fresh episodes, a stop
    loop = ScriptedLoop([480.0, 490.0])
    loop.end_epoch(rule, 470.0)
    loop.end_epoch(rule, 476.0)
    assert loop.reason.startswith("solved: eval return 485.0 >= 475 on 20 fresh episodes")


def test_the_report_replaces_the_best_value_by_the_held_out_mean_after_the_last_epoch_only():
    loop = ScriptedLoop([480.0, 455.0])  # confirmation 480 keeps the weights; the 20 held-out episodes say 455
    loop.model_selection.report_episodes = 20
    loop.target_epoch, loop.stop_reason = 2, None
    stats = loop.end_epoch(ReportBest(), 490.0)  # epoch 1 of 2: no report
    assert stats["eval/best_return"] == 480.0 and "eval/best_selected_return" not in stats
    loop.epoch = 2
    stats = {"eval/best_return": 480.0}
    ReportBest().on_epoch_end(loop, stats)
    assert stats["eval/best_return"] == 455.0 == loop.selection.best_return
    assert stats["eval/best_selected_return"] == 480.0 and stats["eval/best_report_episodes"] == 20
    # the held-out episodes are the best's whole evidence now: a stop rule pools later episodes with them only
    assert loop.model_selection.evidence_episodes == 20
    assert loop.model_selection.add_evidence(475.0, 20) == pytest.approx(465.0)
