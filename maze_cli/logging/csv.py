"""``stats.csv``: one row per epoch, the file tests and sweeps read (rewritten atomically each epoch)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Dict, List

from maze_cli.core.io import atomic_write

STATS_FILE = "stats.csv"


class CsvLogger:
    """Keeps every epoch's row; a second ``train()`` call of the same run appends to them.

    :param run_dir: the run directory.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.rows: List[Dict[str, float]] = []

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        self.rows.append(dict(stats))
        columns: List[str] = []
        for row in self.rows:
            columns += [key for key in row if key not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(self.rows)
        text = buffer.getvalue()
        atomic_write(self.run_dir / STATS_FILE, lambda tmp: Path(tmp).write_text(text))
