"""The console (and ``maze_cli.log``): one line per epoch."""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Dict, Optional

logger = logging.getLogger("maze_cli")

LOG_FILE = "maze_cli.log"


class ProgressAwareHandler(logging.StreamHandler):
    """Console lines written through tqdm, so they print above the progress bar instead of onto its end."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # logging must never raise
            self.handleError(record)


def setup_logging(run_dir: Optional[Path]) -> None:
    """Console output for the ``maze_cli`` logger, mirrored into ``run_dir/maze_cli.log`` (if given)."""
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.disabled = False  # Hydra's logging config disables loggers that existed before it ran
    if not any(getattr(h, "_maze_console", False) for h in logger.handlers):
        console = ProgressAwareHandler()
        console.setFormatter(logging.Formatter("%(message)s"))
        console._maze_console = True  # type: ignore[attr-defined]
        logger.addHandler(console)
    for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
        logger.removeHandler(handler)  # one run at a time logs to its file (sweeps run jobs in sequence)
        handler.close()
    if run_dir is None:
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(run_dir / LOG_FILE)
    file_handler.setFormatter(logging.Formatter("[%(asctime)s][%(levelname)s] %(message)s"))
    logger.addHandler(file_handler)


def _fmt(value: Optional[float]) -> str:
    return "   n/a" if value is None or math.isnan(value) else f"{value:8.2f}"


class ConsoleLogger:
    """Logs ``epoch k/N | steps | train return | eval return (best) | steps/s`` after every epoch."""

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        logger.info(
            f"epoch {int(stats['epoch']):>4}/{loop.target_epoch} | steps {int(stats['time/env_steps']):>9,} | "
            f"train return {_fmt(stats.get('train/episode_return_mean'))} | "
            f"eval return {_fmt(stats.get('eval/episode_return_mean'))} "
            f"(best {_fmt(stats.get('eval/best_return'))}) | "
            f"{stats.get('time/steps_per_second', 0):7,.0f} steps/s")
