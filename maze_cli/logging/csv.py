"""``stats.csv``: one row per epoch, the file tests and sweeps read (rewritten atomically each epoch)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Dict, List

from maze_cli.core.io import atomic_write

STATS_FILE = "stats.csv"


def read_stats(path: Path) -> List[Dict[str, float]]:
    """The rows of a ``stats.csv`` (numbers as floats; none if there is no file)."""
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{key: _number(value) for key, value in row.items() if value not in (None, "")}
                for row in csv.DictReader(handle)]


def _number(text: str) -> float:
    """A CSV cell as it was logged: counters (epoch) stay integers."""
    return int(text) if text.lstrip("-").isdigit() else float(text)


class CsvLogger:
    """Keeps every epoch's row; a second ``train()`` call of the same run appends to them, and so does a
    resumed run, whose directory starts with the earlier run's ``stats.csv``.

    :param run_dir: the run directory.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.rows: List[Dict[str, float]] = read_stats(self.run_dir / STATS_FILE)

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
