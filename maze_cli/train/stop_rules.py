"""Stop rules: callbacks that end training early (patience, a return threshold)."""
from __future__ import annotations

from typing import Any, Dict


class EarlyStopping:
    """Stops after ``patience`` epochs without a better selection return.

    :param patience: epochs without improvement to tolerate.
    """

    def __init__(self, patience: int):
        self.patience = patience

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if loop.selection.epochs_without_improvement >= self.patience:
            loop.request_stop(f"early stop: no better return for {self.patience} epochs")


class StopAtReturn:
    """Stops once the best selection return reaches ``threshold``.

    :param threshold: the return that counts as solved.
    """

    def __init__(self, threshold: float):
        self.threshold = threshold

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if loop.selection.best_return >= self.threshold:
            loop.request_stop(f"return {loop.selection.best_return:.2f} reached stop_at_return={self.threshold}")
