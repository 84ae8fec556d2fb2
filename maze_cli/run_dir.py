"""Run-directory hygiene that needs no training stack: a run that failed validation leaves no empty directory."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from maze_cli.logging import LOG_FILE

logger = logging.getLogger("maze_cli")

HYDRA_FILES = {"config.yaml", "hydra.yaml", "overrides.yaml"}


def discard_unused_run_dir(run_dir: Path) -> bool:
    """Removes a run directory that holds nothing but the log and Hydra's record of the command (a run that
    failed validation), so ``ls outputs/... | tail -1`` never picks an empty run; anything else is kept."""
    for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
        logger.removeHandler(handler)
        handler.close()
    if not run_dir.is_dir():
        return False
    entries = {p.name for p in run_dir.iterdir()}
    hydra_dir = run_dir / ".hydra"
    if not entries <= {LOG_FILE, ".hydra"} or (hydra_dir.is_dir() and not {p.name for p in hydra_dir.iterdir()} <= HYDRA_FILES):
        return False
    shutil.rmtree(run_dir)
    if not any(run_dir.parent.iterdir()):
        run_dir.parent.rmdir()  # the run-name folder, when this was its only run
    return True
