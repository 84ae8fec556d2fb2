"""docs/structured_envs.md runs as written: python blocks in-process, YAML presets built against the
example env, shell blocks through ``python -m maze_cli`` with a budget of a few updates."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from maze_cli.config_validation import instantiate_node
from maze_cli.envs import PackingEnv

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "structured_envs.md"
BLOCKS = re.findall(r"```(python|bash|yaml)\n(.*?)```", PAGE.read_text(), re.S)
SHIM = """#!/usr/bin/env bash
exec "{python}" -m maze_cli "$@" algorithm.n_epochs=1 algorithm.epoch_length=2 algorithm.n_rollout_steps=10
"""


def _blocks(kind):
    return [pytest.param(code, id=f"{kind}{index}") for index, (lang, code) in enumerate(BLOCKS) if lang == kind]


def test_page_has_examples_of_every_kind():
    assert {lang for lang, _ in BLOCKS} == {"python", "bash", "yaml"}


@pytest.mark.parametrize("code", _blocks("python"))
def test_python_examples(run_root, code):
    exec(compile(code, str(PAGE), "exec"), {"__name__": "__doc_example__"})


@pytest.mark.parametrize("code", _blocks("yaml"))
def test_yaml_presets_build_for_the_example_env(code):
    env = PackingEnv()
    node = yaml.safe_load(code)
    composer = instantiate_node(node, "policy", action_spaces_dict=env.action_spaces_dict,
                                observation_spaces_dict=env.observation_spaces_dict,
                                agent_counts_dict=env.agent_counts_dict)
    assert sorted(composer.policy.networks) == ["0", "1"]


def test_shell_examples(run_root):
    bin_dir = run_root / "bin"
    bin_dir.mkdir()
    (bin_dir / "maze-run").write_text(SHIM.format(python=sys.executable))
    (bin_dir / "maze-run").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    for lang, code in BLOCKS:
        if lang == "bash":
            result = subprocess.run(["bash", "-e", "-c", code], cwd=run_root, env=env, capture_output=True,
                                    text=True, timeout=300)
            assert result.returncode == 0, code + result.stderr[-3000:]
