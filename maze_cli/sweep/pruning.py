"""Training-loop callback of an Optuna trial: report every epoch's eval return, stop when the pruner says so."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from maze_cli.core.io import atomic_write
from maze_cli.sweep.study import load_trial
from maze_cli.sweep.summary import PRUNED_MARKER


class OptunaPruning:
    """Added by the ``maze_optuna`` sweeper to each job as ``callbacks.optuna_pruning``.

    The job may run in another process or machine than the sweeper, so the trial is reached through the
    study's RDB storage; its intermediate values are what the pruner and ``optuna-dashboard`` see.
    """

    def __init__(self, storage: str, study_name: str, trial_number: int,
                 pruner: Optional[Mapping[str, Any]] = None, metric: str = "eval/episode_return_mean"):
        self.metric = metric
        self.trial = load_trial(storage, study_name, int(trial_number), pruner)

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        value = stats.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(float(value), step=loop.epoch)
        if self.trial.should_prune():
            if loop.run_dir is not None:
                text = json.dumps({"epoch": loop.epoch, "env_steps": loop.env_steps, self.metric: value})
                atomic_write(Path(loop.run_dir) / PRUNED_MARKER, lambda tmp: Path(tmp).write_text(text))
            loop.request_stop(f"pruned by the Optuna study at epoch {loop.epoch} ({self.metric}={value:.2f})")
