"""Everything a run reports: console lines, log file, stats.csv, TensorBoard and the learning curve."""
from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path
from typing import Dict, List, Optional

from maze_cli.train.checkpoint import atomic_write

logger = logging.getLogger("maze_cli")

STATS_FILE = "stats.csv"
LOG_FILE = "maze_cli.log"
CURVE_FILE = "learning_curve.png"


def setup_logging(run_dir: Optional[Path]) -> None:
    """Console output for the ``maze_cli`` logger, mirrored into ``run_dir/maze_cli.log`` (if given)."""
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.disabled = False  # Hydra's logging config disables loggers that existed before it ran
    if not any(getattr(h, "_maze_console", False) for h in logger.handlers):
        console = logging.StreamHandler()
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


def _fmt(value: float) -> str:
    return "   n/a" if value is None or math.isnan(value) else f"{value:8.2f}"


class RunLogger:
    """Writes one row per epoch to ``stats.csv`` (atomically) and TensorBoard, and a console line.

    :param run_dir: the run directory; ``None`` logs to the console only.
    :param n_epochs: planned epochs (for the console line).

    One logger lives as long as its trainer, so a second ``train()`` call appends rows.
    """

    def __init__(self, run_dir: Optional[Path], n_epochs: int = 0):
        self.run_dir = run_dir
        self.n_epochs = n_epochs
        self.rows: List[Dict[str, float]] = []
        self._writer = None

    def log_epoch(self, stats: Dict[str, float]) -> None:
        self.rows.append(dict(stats))
        step = int(stats["time/env_steps"])
        if self._writer is None and self.run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter
            self._writer = SummaryWriter(log_dir=str(self.run_dir))
        if self._writer is not None:
            for key, value in stats.items():
                if "/" in key and not (isinstance(value, float) and math.isnan(value)):
                    self._writer.add_scalar(key, value, step)
            self._writer.flush()
        if self.run_dir is not None:
            self._write_csv()
        logger.info(
            f"epoch {int(stats['epoch']):>4}/{self.n_epochs} | steps {step:>9,} | "
            f"train return {_fmt(stats.get('train/episode_return_mean'))} | "
            f"eval return {_fmt(stats.get('eval/episode_return_mean'))} "
            f"(best {_fmt(stats.get('eval/best_return'))}) | "
            f"{stats.get('time/steps_per_second', 0):7,.0f} steps/s")

    def _write_csv(self) -> None:
        columns: List[str] = []
        for row in self.rows:
            columns += [key for key in row if key not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(self.rows)
        text = buffer.getvalue()
        atomic_write(self.run_dir / STATS_FILE, lambda tmp: Path(tmp).write_text(text))

    def close(self) -> None:
        """Flush TensorBoard and draw the learning curve."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.run_dir is not None and self.rows:
            plot_learning_curve(self.rows, self.run_dir / CURVE_FILE)


def plot_learning_curve(rows: List[Dict[str, float]], path: Path) -> None:
    """Train and eval mean return per epoch against env steps."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [row["time/env_steps"] for row in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (("train/episode_return_mean", "train"), ("eval/episode_return_mean", "eval")):
        values = [row.get(key, math.nan) for row in rows]
        if any(not math.isnan(v) for v in values):
            ax.plot(steps, values, marker="o", markersize=3, label=label)
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean episode return")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
