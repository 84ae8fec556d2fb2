"""``learning_curve.png``: train and eval return per epoch against env steps, drawn when training ends."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List

from maze_cli.core.io import atomic_write
from maze_cli.logging.csv import STATS_FILE, read_stats

CURVE_FILE = "learning_curve.png"


class LearningCurve:
    """Collects the returns of every epoch (across ``train()`` calls) and draws them at the end of each call.

    :param run_dir: the run directory.
    """

    KEYS = ("time/env_steps", "train/episode_return_mean", "eval/episode_return_mean")

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / CURVE_FILE
        self.points: List[Dict[str, float]] = [{k: row[k] for k in self.KEYS if k in row}
                                               for row in read_stats(Path(run_dir) / STATS_FILE)]

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        self.points.append({key: stats[key] for key in self.KEYS if key in stats})

    def on_train_end(self, loop: Any) -> None:
        if self.points:
            plot_learning_curve(self.points, self.path)


def plot_learning_curve(rows: List[Dict[str, float]], path: Path) -> None:
    """Train and eval mean return per epoch against env steps.

    Drawn on a bare Agg canvas rather than through ``pyplot``, whose import and global figure registry cost
    every ``train()`` call about half a second and are not thread-safe.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = [row["time/env_steps"] for row in rows]
    fig = Figure(figsize=(7, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for key, label in (("train/episode_return_mean", "train"), ("eval/episode_return_mean", "eval")):
        values = [row.get(key, math.nan) for row in rows]
        if any(not math.isnan(v) for v in values):
            ax.plot(steps, values, marker="o", markersize=3, label=label)
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean episode return")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
