"""A non-editable install finds its packaged configs from any working directory."""
import os
import shutil
import subprocess
import sys

from cli_helpers import REPO, only_run_dir
from test_cli import RUN_FILES


def test_non_editable_install_trains_from_an_unrelated_directory(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "outputs", "multirun", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    # Dependencies come from the surrounding environment; the package itself is built and copied.
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(source)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR")}
    result = subprocess.run(
        [str(venv / "bin" / "maze-run"), "env=cartpole", "algorithm=a2c", "runner=local", "algorithm.n_epochs=2",
         "algorithm.epoch_length=5", "runner.n_workers=2"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    run = only_run_dir(elsewhere)
    assert run.parent.name == "cartpole-a2c-local"
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import maze_cli.conf; print(maze_cli.conf.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert str(venv) in where, where
