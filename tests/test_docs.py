"""Every example in README.md and docs/*.md runs: python blocks in-process, shell blocks via bash."""
import os
import re
import subprocess
import sys

import pytest

from cli_helpers import REPO

# docs/runners.md is run by test_docs_runners.py: it needs the shared Ray session, and its SLURM sweep
# cannot be queued here, so that test composes it and runs the same sweep with submitit_local.
PAGES = [REPO / "README.md"] + sorted(p for p in (REPO / "docs").glob("*.md") if p.name != "runners.md")
FENCE = re.compile(r"```(python|bash)\n(.*?)```", re.S)

# Training commands in the docs run with a budget of a few updates; everything else is as written.
# algorithm=sac, algorithm=bc and algorithm=es have no n_rollout_steps to shorten.
SHIM = """#!/usr/bin/env bash
case " $* " in *" -cn rollout "*|*" -cn sweep_report "*|*" -cn export "*|*"--help"*|*"--cfg"*) exec "{python}" -m maze_cli "$@";; esac
case " $* " in *sac*|*" algorithm=bc "*|*" algorithm=es "*|*"=cartpole_es "*) exec "{python}" -m maze_cli "$@" algorithm.n_epochs=1 algorithm.epoch_length=2;; esac
exec "{python}" -m maze_cli "$@" algorithm.n_epochs=1 algorithm.epoch_length=2 algorithm.n_rollout_steps=10
"""


def _blocks(kind):
    for page in PAGES:
        for index, (lang, code) in enumerate(FENCE.findall(page.read_text())):
            if lang == kind:
                yield pytest.param(code, id=f"{page.relative_to(REPO)}#{index}")


def _skip_install_lines(code):
    """The README's install lines are what CI itself runs; do not reinstall inside a test."""
    return "\n".join(l for l in code.splitlines() if not l.lstrip().startswith("pip install"))


@pytest.fixture
def doc_workdir(run_root):
    (run_root / "docs").symlink_to(REPO / "docs")
    bin_dir = run_root / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "maze-run"
    shim.write_text(SHIM.format(python=sys.executable))
    shim.chmod(0o755)
    return run_root


@pytest.mark.parametrize("page", [pytest.param(p, id=str(p.relative_to(REPO))) for p in PAGES
                                  if any(lang == "bash" for lang, _ in FENCE.findall(p.read_text()))])
def test_shell_examples(doc_workdir, page):
    """A page's shell blocks run in order in one directory, as a reader following the page would."""
    env = {**os.environ, "PATH": f"{doc_workdir / 'bin'}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    env.pop("HYDRA_FULL_ERROR", None)
    for lang, code in FENCE.findall(page.read_text()):
        if lang != "bash":
            continue
        script = _skip_install_lines(code).replace("python -m pytest -q", "true")
        result = subprocess.run(["bash", "-e", "-c", script], cwd=doc_workdir, env=env, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, script + "\n" + result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("code", list(_blocks("python")))
def test_python_examples(doc_workdir, code):
    sys.path.insert(0, str(REPO / "docs" / "examples"))
    try:
        exec(compile(code, "<doc example>", "exec"), {"__name__": "__doc_example__"})
    finally:
        sys.path.remove(str(REPO / "docs" / "examples"))
