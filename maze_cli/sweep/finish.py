"""The end of a sweep: the summary table, the best job as a preset, and the report picture."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from maze_cli.sweep.best import best_result, write_best_experiment
from maze_cli.sweep.report import write_sweep_report
from maze_cli.sweep.study import STUDY_FILE
from maze_cli.sweep.summary import write_sweep_summary


def finish_sweep(sweep_dir: Path, results: List[Dict[str, Any]]) -> None:
    """The best job as an ``experiment`` preset and the report picture (both redrawn from the files)."""
    best = write_best_experiment(sweep_dir, results)
    if best is not None:
        print(f"best preset: {best} ({best.read_text().splitlines()[2][2:]})")
    print(f"sweep report: {write_sweep_report(sweep_dir)}")


class SweepSummaryCallback(Callback):
    """Hydra callback: refresh the summary after every job, so a crash keeps the results so far;
    at the end of the sweep write the best preset and the report, and exit non-zero if any job failed
    (pruned jobs are not failures)."""

    def __init__(self, exit_on_failure: bool = True):
        self.exit_on_failure = exit_on_failure

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if HydraConfig.get().mode.name == "MULTIRUN":
            write_sweep_summary(Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        results = write_sweep_summary(sweep_dir)
        counts = {status: sum(r["status"] == status for r in results) for status in ("completed", "pruned", "failed")}
        print(f"sweep summary: {sweep_dir / 'sweep_summary.md'} "
              f"({', '.join(f'{n} {status}' for status, n in counts.items() if n or status != 'pruned')})")
        try:
            finish_sweep(sweep_dir, results)
        finally:
            if counts["failed"] and self.exit_on_failure:
                raise SystemExit(1)




def redraw(sweep_dir: Path) -> float:
    """``maze-run -cn sweep_report input_dir=<sweep dir>``: summary, best preset and report of any sweep."""
    if not (sweep_dir / STUDY_FILE).is_file() and not any(sweep_dir.glob("*/job_result.json")):
        raise FileNotFoundError(f"input_dir={sweep_dir} holds no sweep jobs (no */job_result.json); expected the "
                                f"directory of a --multirun sweep, e.g. multirun/<date>")
    results = write_sweep_summary(sweep_dir)
    finish_sweep(sweep_dir, results)
    best = best_result(results)
    return best["best_eval_return"] if best is not None else math.nan
