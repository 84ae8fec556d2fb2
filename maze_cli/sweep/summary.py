"""Sweep bookkeeping: every job records its result; the sweep directory keeps one summary table."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Dict, List

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from maze_cli.core.io import atomic_write

JOB_RESULT = "job_result.json"
SUMMARY_COLUMNS = ["job", "overrides", "status", "best_eval_return", "env_steps", "wall_seconds", "run_dir", "error"]


PRUNED_MARKER = "pruned.json"
"""Written into a job's run directory by the pruning callback; turns ``completed`` into ``pruned``."""
SWEEPER_KEYS = ("+callbacks.optuna_pruning.",)
"""Overrides a sweeper adds for its own bookkeeping: left out of the summary and of the best preset."""


def user_overrides(overrides: List[str]) -> List[str]:
    """A job's overrides without the ones the sweeper added for itself."""
    return [o for o in overrides if not o.startswith(SWEEPER_KEYS)]


def write_job_result(run_dir: Path, status: str, best_eval_return: float = math.nan, env_steps: int = 0,
                     wall_seconds: float = 0.0, error: str = "") -> None:
    """``job_result.json`` of one sweep job (written for completed and failed jobs alike)."""
    hydra_cfg = HydraConfig.get()
    if status == "completed" and (run_dir / PRUNED_MARKER).is_file():
        status = "pruned"
    record_job_result(run_dir, int(hydra_cfg.job.num), list(hydra_cfg.overrides.task), status,
                      best_eval_return, env_steps, wall_seconds, error)


def record_job_result(run_dir: Path, job: int, overrides: List[str], status: str,
                      best_eval_return: float = math.nan, env_steps: int = 0, wall_seconds: float = 0.0,
                      error: str = "") -> None:
    """``job_result.json`` from explicit fields (a sweeper records a job that crashed before writing one)."""
    result = {"job": job, "overrides": " ".join(user_overrides(overrides)), "status": status,
              "best_eval_return": best_eval_return, "env_steps": env_steps,
              "wall_seconds": round(wall_seconds, 2), "run_dir": str(run_dir), "error": error}
    text = json.dumps(result, indent=2)
    atomic_write(run_dir / JOB_RESULT, lambda tmp: Path(tmp).write_text(text))


def read_job_results(sweep_dir: Path) -> List[Dict[str, Any]]:
    results = []
    for path in sweep_dir.glob(f"*/{JOB_RESULT}"):
        try:
            results.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a job still writing; the next summary includes it
    return sorted(results, key=lambda r: r["job"])


def write_sweep_summary(sweep_dir: Path) -> List[Dict[str, Any]]:
    """``sweep_summary.csv`` and ``sweep_summary.md`` from the job results found so far."""
    results = read_job_results(sweep_dir)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    writer.writerows({k: r.get(k, "") for k in SUMMARY_COLUMNS} for r in results)
    csv_text = buffer.getvalue()
    atomic_write(sweep_dir / "sweep_summary.csv", lambda tmp: Path(tmp).write_text(csv_text))
    lines = ["| " + " | ".join(SUMMARY_COLUMNS[:-2]) + " |", "|" + "---|" * (len(SUMMARY_COLUMNS) - 2)]
    for r in results:
        best = r.get("best_eval_return")
        best_text = "" if best is None or (isinstance(best, float) and math.isnan(best)) else f"{best:.2f}"
        lines.append(f"| {r['job']} | `{r['overrides']}` | {r['status']} | {best_text} | {r['env_steps']} | "
                     f"{r['wall_seconds']} |")
    md_text = "\n".join(lines) + "\n"
    atomic_write(sweep_dir / "sweep_summary.md", lambda tmp: Path(tmp).write_text(md_text))
    return results


def finish_sweep(sweep_dir: Path, results: List[Dict[str, Any]]) -> None:
    """The best job as an ``experiment`` preset and the report picture (both redrawn from the files)."""
    from maze_cli.sweep.best import write_best_experiment
    from maze_cli.sweep.report import write_sweep_report

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


