"""docs/runners.md cannot rot: its Python runs, its maze-run commands run, its install lines name real extras.

maze-run commands run as ``python -m maze_cli`` with training shortened to one tiny epoch; Ray runs
join the test session's Ray instance (``RAY_ADDRESS``). The SLURM command needs a SLURM cluster: it
is composed (``--cfg hydra``: launcher and its keys must exist) instead of queued, and the page's
``submitit_local`` command runs the same launcher plugin for real.
"""
import math
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "runners.md"
SHORTEN = ["algorithm.n_epochs=1", "algorithm.epoch_length=2", "algorithm.eval_repeats=1"]


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def _commands():
    return [line.strip() for block in _blocks("bash") for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def _maze_run(args, cwd):
    return subprocess.run([sys.executable, "-m", "maze_cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _n_jobs(args):
    """Jobs of a multirun: the product of the numbers of comma-separated values."""
    return math.prod(len(arg.split("=", 1)[1].split(",")) for arg in args if "=" in arg and "," in arg)


def test_page_has_the_examples_this_test_runs():
    commands = _commands()
    assert len(_blocks("python")) >= 1
    assert any("runner=local" in c for c in commands) and any("runner=ray" in c for c in commands)
    assert any("hydra/launcher=ray" in c for c in commands)
    assert any("hydra/launcher=submitit_slurm" in c for c in commands)
    assert "FIGURES_TABLE" not in DOC.read_text()  # the measured figures were filled in


def test_python_examples_run(ray_session, run_root):
    for block in _blocks("python"):
        exec(compile(block, str(DOC), "exec"), {"__name__": "docs_example"})
    assert list(run_root.glob("outputs/*/*/stats.csv"))


def test_install_lines_name_extras_of_the_package():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    installs = [c for c in _commands() if c.startswith("pip install")]
    assert installs
    for command in installs:
        (requirement,) = re.findall(r"maze_cli\[([\w,-]+)\]", command)
        for extra in requirement.split(","):
            assert extra in extras, f"{command}: no extra {extra!r} in pyproject.toml"


@pytest.mark.parametrize("command", [c for c in _commands() if c.startswith("maze-run")])
def test_maze_run_commands_of_the_page_work(command, ray_session, tmp_path, monkeypatch):
    monkeypatch.setenv("PWD", str(tmp_path))  # what the user's shell substitutes for $PWD
    args = [os.path.expandvars(arg) for arg in shlex.split(command)[1:]]
    if "hydra/launcher=submitit_slurm" in args:
        single = [a for a in args if a != "--multirun"]
        single = [a.split(",")[0] if "=" in a else a for a in single]
        result = _maze_run([*single, "--cfg", "hydra"], tmp_path)
        assert result.returncode == 0, result.stderr
        assert "_target_: hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher" in result.stdout
        assert "partition: cpu" in result.stdout and "cpus_per_task: 4" in result.stdout
        return
    result = _maze_run([*args, *SHORTEN], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    if "--multirun" in args:
        assert len(list(tmp_path.glob("multirun/*/*/stats.csv"))) == _n_jobs(args)
    else:
        assert len(list(tmp_path.glob("outputs/*/*/stats.csv"))) == 1
