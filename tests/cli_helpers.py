"""Running maze-run as a user does: a subprocess, its exit code, its output and its run directory."""
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parents[1]


def maze_run(args: List[str], cwd: Path, env: Optional[dict] = None, executable: Optional[List[str]] = None,
             timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m maze_cli <args>`` (the same entry point as the ``maze-run`` script) in ``cwd``."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None) if "HYDRA_FULL_ERROR" not in (env or {}) else None
    cmd = (executable or [sys.executable, "-m", "maze_cli"]) + args
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def default_sigint() -> None:
    """``preexec_fn`` of a child that a test interrupts with SIGINT: Ctrl-C as in a terminal. A shell starts
    background jobs (``.ci/run &``) with SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def only_run_dir(root: Path) -> Path:
    runs = [p for p in root.glob("outputs/*/*") if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]
