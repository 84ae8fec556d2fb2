"""TensorBoard event files with stable tags (``train/...``, ``eval/...``, ``losses/...``, ``time/...``)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict


class TensorBoardLogger:
    """Every ``group/name`` statistic of an epoch as a scalar at the run's env-step count.

    :param run_dir: where the event files go. TensorBoard is imported on the first epoch only.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._writer = None

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter
            self._writer = SummaryWriter(log_dir=str(self.run_dir))
        step = int(stats["time/env_steps"])
        for key, value in stats.items():
            if "/" in key and not (isinstance(value, float) and math.isnan(value)):
                self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def on_train_end(self, loop: Any) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
