"""The first ten minutes: the default run solves CartPole and says so, runs stop once solved and confirmed,
missing env families name our extra, and a custom env target needs no key surgery."""
import csv
import os
import re
import subprocess
import sys

import pytest

from cli_helpers import REPO, maze_run, only_run_dir

ENV = {"PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}


@pytest.mark.learning
@pytest.mark.parametrize("seed", [11, 12])
def test_maze_run_without_arguments_solves_cartpole_and_says_so(run_root, seed):
    result = maze_run([f"seed={seed}"], run_root)  # the seed only varies the run; everything else is default
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(open(only_run_dir(run_root) / "stats.csv")))
    assert max(float(r["eval/episode_return_mean"]) for r in rows) >= 475
    # the stop's claim is the best policy's mean over all its fresh episodes (selection's and the stop rule's
    # together; confirmed_return is the stop rule's own share of them); the best return the run then reports is
    # those weights' mean on 20 held-out episodes
    selected, best = float(rows[-1]["eval/best_selected_return"]), float(rows[-1]["eval/best_return"])
    last = result.stderr.strip().splitlines()[-1]
    assert selected >= 475 and last.startswith(f"solved: eval return {selected:.1f} >= 475 on ")
    assert re.search(r">= 475 on [0-9]+ fresh episodes at", last)
    assert best >= 475 and f"| best return {best:.1f} on 20 held-out episodes:" in last
    assert "maze-run -cn rollout input_dir=" in last


@pytest.mark.learning
def test_cartpole_ppo_stops_within_two_epochs_of_first_reaching_its_threshold(run_root):
    result = maze_run(["+experiment=cartpole_ppo", "seed=3"], run_root)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(open(only_run_dir(run_root) / "stats.csv")))
    first = next(i for i, r in enumerate(rows) if float(r["eval/episode_return_mean"]) >= 475)
    assert len(rows) - 1 - first <= 2 and len(rows) < 20  # well before its 20-epoch budget
    assert "solved: eval return" in result.stderr


def test_stop_at_return_null_trains_the_full_budget(run_root):
    result = maze_run(["+experiment=cartpole_ppo", "algorithm.stop_at_return=null", "algorithm.n_epochs=2",
                       "algorithm.epoch_length=2"], run_root)
    assert result.returncode == 0, result.stderr
    assert len(list(csv.DictReader(open(only_run_dir(run_root) / "stats.csv")))) == 2
    assert result.stderr.strip().splitlines()[-1].startswith("trained 2 epochs")


def test_a_missing_box2d_names_the_extra(run_root):
    hide = "import sys; sys.modules['Box2D'] = None; from maze_cli.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", hide, "env=gym", "env.name=LunarLander-v3"], cwd=run_root,
                            env={**os.environ, **ENV}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "env 'LunarLander-v3' needs box2d, which is not installed: pip install \"maze_cli[box2d]\"" in result.stderr


def test_a_missing_ray_names_the_extra(run_root):
    hide = "import sys; sys.modules['ray'] = None; from maze_cli.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", hide, "runner=ray"], cwd=run_root, env={**os.environ, **ENV},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert 'runner=ray needs Ray, which is not installed: pip install "maze_cli[ray]"' in result.stderr


def test_a_custom_env_target_trains_without_removing_preset_keys(run_root):
    result = maze_run(["env._target_=faulty_envs.slow_cartpole", "+env.sleep=0", "algorithm.n_epochs=1",
                       "algorithm.epoch_length=2"], run_root, env=ENV)
    assert result.returncode == 0, result.stderr
    wrong = maze_run(["env._target_=faulty_envs.slow_cartpole", "env.name=CartPole-v1", "algorithm.n_epochs=1"],
                     run_root, env=ENV)
    assert "env.name: unknown key for faulty_envs.slow_cartpole; expected one of ['sleep']" in wrong.stderr
