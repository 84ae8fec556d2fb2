"""Seed-aware sweep summaries: configurations over seeds, mean ± std, steps to threshold, ranked by mode."""
import pytest

from maze_cli.sweep.seeds import config_key, group_by_config


def fake_run(tmp_path, name, returns, threshold):
    run = tmp_path / name
    run.mkdir()
    rows = ["epoch,time/env_steps,eval/episode_return_mean"] + [f"{i + 1},{1000 * (i + 1)},{r}"
                                                                for i, r in enumerate(returns)]
    (run / "stats.csv").write_text("\n".join(rows) + "\n")
    (run / "config.yaml").write_text(f"algorithm:\n  stop_at_return: {threshold}\n")
    return str(run)


def job(tmp_path, n, overrides, returns, mode="max", threshold="null"):
    return {"job": n, "overrides": overrides, "status": "completed", "best_eval_return": max(returns),
            "run_dir": fake_run(tmp_path, str(n), returns, threshold), "selection_mode": mode}


def test_seeds_of_one_configuration_are_grouped_and_ranked(tmp_path):
    results = [job(tmp_path, 0, "algorithm.lr=0.1 seed=1", [10, 50, 40], threshold=45),
               job(tmp_path, 1, "algorithm.lr=0.1 seed=2", [30, 20, 60], threshold=45),
               job(tmp_path, 2, "algorithm.lr=0.5 seed=1", [80, 90, 90], threshold=45),
               job(tmp_path, 3, "algorithm.lr=0.5 seed=2", [70, 70, 70], threshold=45),
               job(tmp_path, 4, "algorithm.lr=0.9 seed=1", [99], threshold=45)]  # one seed: not grouped
    rows = group_by_config(results)
    assert [r["config"] for r in rows] == ["algorithm.lr=0.5", "algorithm.lr=0.1"]
    low = rows[1]
    assert low["best_mean"] == pytest.approx(55.0) and low["best_std"] == pytest.approx(5.0)
    assert low["final_mean"] == pytest.approx(50.0) and low["final_std"] == pytest.approx(10.0)
    assert low["steps_to_threshold_mean"] == pytest.approx(2500.0) and low["reached"] == "2/2"  # 2,000 and 3,000


def test_a_cost_selection_ranks_the_lowest_first(tmp_path):
    results = [job(tmp_path, 0, "x=1 seed=1", [5.0], "min"), job(tmp_path, 1, "x=1 seed=2", [7.0], "min"),
               job(tmp_path, 2, "x=2 seed=1", [2.0], "min"), job(tmp_path, 3, "x=2 seed=2", [3.0], "min")]
    assert [r["config"] for r in group_by_config(results)] == ["x=2", "x=1"]
    assert config_key("a=1 seed=3 b=2") == "a=1 b=2"
