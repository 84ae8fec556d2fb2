"""Every experiment preset composes and builds; docs/algorithms.md's examples run as written."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from maze_cli import RunContext

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
DOC = ROOT / "docs" / "algorithms.md"


def test_presets_exist_for_the_documented_learning_tasks():
    assert {"cartpole_ppo", "acrobot_ppo", "acrobot_a2c", "pendulum_ppo", "target_matching_ppo"} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_builds_and_names_its_env_and_algorithm(run_root, preset):
    env_name, algorithm = preset.rsplit("_", 1)
    rc = RunContext(experiment=preset, output_dir=run_root)
    assert rc.config.algorithm._target_ == f"maze_cli.{algorithm.upper()}AlgorithmConfig"
    assert env_name.replace("_", "") in str(rc.config.env).lower().replace("-", "").replace("_", "")
    assert rc.policy is not None
    # group choices and overrides still apply on top of a preset
    assert RunContext(experiment=preset, overrides={"algorithm.lr": 0.123}, output_dir=run_root
                      ).config.algorithm.lr == 0.123


def _blocks(language: str):
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_docs_python_examples_run(run_root):
    blocks = _blocks("python")
    assert blocks
    for block in blocks:
        exec(compile(block, f"{DOC.name} example", "exec"), {"__name__": "__docs__"})


def test_docs_shell_examples_run(run_root):
    commands = [line.strip() for block in _blocks("bash") for line in block.splitlines()
                if line.strip().startswith("maze-run ")]
    assert commands
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in commands:
        args = [sys.executable, "-m", "maze_cli"] + command.split()[1:]
        result = subprocess.run(args, cwd=run_root, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (command, result.stderr[-2000:])
