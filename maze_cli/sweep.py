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


def write_job_result(run_dir: Path, status: str, best_eval_return: float = math.nan, env_steps: int = 0,
                     wall_seconds: float = 0.0, error: str = "") -> None:
    """``job_result.json`` of one sweep job (written for completed and failed jobs alike)."""
    hydra_cfg = HydraConfig.get()
    result = {"job": int(hydra_cfg.job.num), "overrides": " ".join(hydra_cfg.overrides.task), "status": status,
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


class SweepSummaryCallback(Callback):
    """Hydra callback: refresh the summary after every job, so a crash keeps the results so far;
    at the end of the sweep exit non-zero if any job failed."""

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
        failed = [r for r in results if r["status"] != "completed"]
        print(f"sweep summary: {sweep_dir / 'sweep_summary.md'} ({len(results) - len(failed)} completed, "
              f"{len(failed)} failed)")
        if failed and self.exit_on_failure:
            raise SystemExit(1)


