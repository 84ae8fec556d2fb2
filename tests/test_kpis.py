"""Env KPIs: info numbers aggregated per episode and epoch, through every vector env, and as the selection metric."""
import csv

import numpy as np
import pytest
import torch

from maze_cli import ConfigError, RunContext
from maze_cli.envs.kpis import KpiRecorder, parse_kpis
from maze_cli.envs.log_stats import EpisodeStats, merge_reduced_stats
from python_objects import CostEnv

SHORT = {"algorithm.n_epochs": 2, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 10,
         "algorithm.eval_repeats": 4}


def rows_of(rc):
    with open(rc.run_dir / "stats.csv") as f:
        return list(csv.DictReader(f))


def test_recorder_sums_means_and_keeps_the_last_value_per_episode():
    env = KpiRecorder(CostEnv(), {"cost": "sum", "served": "mean", "t_last": "last"})
    env.reset(seed=0)
    infos = [env.step({"action": a})[4] for a in (1, 0, 1, 1, 0)]
    assert "episode_kpis" not in infos[3]
    assert infos[4]["episode_kpis"] == {"cost": 3.0, "served": pytest.approx(0.4)}  # t_last never reported


def test_epoch_statistics_average_episodes_and_merge_weighted_by_episode_count():
    a, b = EpisodeStats(), EpisodeStats()
    a.add_kpis([{"cost": 2.0}, {"cost": 4.0}]); a.add_episodes(np.array([1.0, 1.0]), np.array([5, 5]))
    b.add_kpis([{"cost": 9.0}]); b.add_episodes(np.array([1.0]), np.array([5]))
    assert a.reduce("train")["train/kpi/cost"] == 3.0
    merged = merge_reduced_stats([a.reduce("train"), b.reduce("train")], "train")
    assert merged["train/kpi/cost"] == pytest.approx(5.0)  # (2 + 4 + 9) / 3


@pytest.mark.parametrize("runner", ["dev", "local"])
def test_kpis_reach_stats_csv_from_every_runner(run_root, runner):
    rc = RunContext(env=CostEnv, runner=runner, overrides={**SHORT, "kpis": ["cost", "served"], "runner.n_envs" if
                                                           runner == "dev" else "runner.n_workers": 2})
    rc.train()
    last = rows_of(rc)[-1]
    for prefix in ("train", "eval"):
        cost, served = float(last[f"{prefix}/kpi/cost"]), float(last[f"{prefix}/kpi/served"])
        assert 0.0 <= cost <= 5.0 and cost + served == pytest.approx(5.0)  # five steps: each costs or serves (summed)


def test_selection_on_a_cost_kpi_keeps_the_lowest_cost_epoch(run_root):
    rc = RunContext(env=CostEnv, seed=1, overrides={**SHORT, "algorithm.n_epochs": 4, "kpis": {"cost": "sum"},
                                                    "algorithm.deterministic_eval": False, "selection.confirm_episodes": 0,
                                                    "selection.report_episodes": 0,
                                                    "selection.metric": "kpi/cost", "selection.mode": "min"})
    best = rc.train()
    rows = rows_of(rc)
    costs = [float(r["eval/kpi/cost"]) for r in rows]
    assert len(set(costs)) > 1 and best == min(costs)  # cost equals return here: the default would keep the max
    best_epoch = int(rows[costs.index(min(costs))]["epoch"])
    assert torch.load(rc.run_dir / "checkpoints" / "best.pt", weights_only=True)["epoch"] == best_epoch


@pytest.mark.parametrize("overrides, message", [
    ({"kpis": {"cost": "median"}}, "kpis.cost='median' is invalid: expected one of"),
    ({"kpis": ["cost"], "selection.metric": "kpi/nope"}, "selection.metric='kpi/nope' is invalid"),
    ({"selection.mode": "lowest"}, "selection.mode='lowest' is invalid"),
])
def test_bad_kpi_and_selection_settings_fail_before_training(run_root, overrides, message):
    with pytest.raises(ConfigError, match=message):
        RunContext(env=CostEnv, overrides=overrides).train()


def test_parse_kpis_takes_a_list_or_a_mapping():
    assert parse_kpis(["cost"]) == {"cost": "sum"} and parse_kpis({"x": "last"}) == {"x": "last"}
    assert parse_kpis(None) == {}


def test_a_sweep_summary_lists_each_jobs_kpis(run_root):
    from cli_helpers import REPO, maze_run
    env = {"PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
    args = ["--multirun", "env._target_=python_objects.CostEnv", "kpis=[cost]", "seed=1,2"] + \
        [f"{k}={v}" for k, v in SHORT.items()]
    result = maze_run(args, cwd=run_root, env=env)
    assert result.returncode == 0, result.stderr
    sweep = next(run_root.glob("multirun/*"))
    rows = list(csv.DictReader(open(sweep / "sweep_summary.csv")))
    assert len(rows) == 2 and all(0.0 <= float(r["eval/kpi/cost"]) <= 5.0 for r in rows)
