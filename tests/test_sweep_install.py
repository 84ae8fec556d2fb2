"""The maze_optuna sweeper ships with the package: non-editable and editable installs find the Hydra plugin
(an editable install hides it from Hydra's plugin scan; maze-run registers it itself)."""
import csv
import os
import shutil
import subprocess
import sys

import pytest

from cli_helpers import REPO

pytest.importorskip("optuna", reason="the sweep extra is part of the test extra")


@pytest.mark.parametrize("editable", [False, True], ids=["install", "editable"])
def test_an_install_runs_a_tuning_sweep_from_an_unrelated_directory(tmp_path, editable):
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "outputs", "multirun", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps"] + (["-e"] if editable else []) + [str(source)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR")}
    result = subprocess.run(
        [str(venv / "bin" / "maze-run"), "--multirun", "hydra/sweeper=maze_optuna", "hydra.sweeper.n_trials=2",
         "hydra.sweep.dir=multirun/tune", "algorithm.lr=tag(log,interval(1e-3,1e-1))", "algorithm.n_epochs=2",
         "algorithm.epoch_length=2"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader(open(elsewhere / "multirun/tune/sweep_summary.csv")))
    assert [r["status"] for r in rows] == ["completed", "completed"]
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import hydra_plugins.maze_optuna_sweeper as p, maze_cli.sweep as s; print(p.__file__, s.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert where.count(str(source if editable else venv)) == 2, where
