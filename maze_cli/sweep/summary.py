"""Sweep bookkeeping: every job records its result; the sweep directory keeps one summary table."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Dict, List


from hydra.core.hydra_config import HydraConfig

from maze_cli.core.io import atomic_write
from maze_cli.sweep.seeds import write_grouped

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
                     wall_seconds: float = 0.0, error: str = "", selection_mode: str = "max") -> None:
    """``job_result.json`` of one sweep job (written for completed and failed jobs alike).

    ``best_eval_return`` is the best value of the run's selection metric (the return, or a KPI), which
    ``selection_mode`` says is better when higher (``max``) or lower (``min``).
    """
    hydra_cfg = HydraConfig.get()
    if status == "completed" and (run_dir / PRUNED_MARKER).is_file():
        status = "pruned"
    record_job_result(run_dir, int(hydra_cfg.job.num), list(hydra_cfg.overrides.task), status,
                      best_eval_return, env_steps, wall_seconds, error, selection_mode)


def record_job_result(run_dir: Path, job: int, overrides: List[str], status: str,
                      best_eval_return: float = math.nan, env_steps: int = 0, wall_seconds: float = 0.0,
                      error: str = "", selection_mode: str = "max") -> None:
    """``job_result.json`` from explicit fields (a sweeper records a job that crashed before writing one)."""
    result = {"job": job, "overrides": " ".join(user_overrides(overrides)), "status": status,
              "best_eval_return": best_eval_return, "env_steps": env_steps,
              "wall_seconds": round(wall_seconds, 2), "run_dir": str(run_dir), "error": error,
              "selection_mode": selection_mode}
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


def last_kpis(run_dir: Path) -> Dict[str, float]:
    """The KPI columns (``eval/kpi/...``, else ``train/kpi/...``) of a run's last epoch, for the summary."""
    stats = run_dir / "stats.csv"
    if not stats.is_file():
        return {}
    with open(stats) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    keys = [k for k in rows[-1] if k.startswith("eval/kpi/")] or [k for k in rows[-1] if k.startswith("train/kpi/")]
    return {key: float(rows[-1][key]) for key in keys if rows[-1][key] not in ("", None)}


def write_sweep_summary(sweep_dir: Path) -> List[Dict[str, Any]]:
    """``sweep_summary.csv`` and ``sweep_summary.md`` from the job results found so far."""
    results = read_job_results(sweep_dir)
    kpis = {r["job"]: last_kpis(Path(r["run_dir"])) for r in results if r.get("status") == "completed"}
    kpi_columns = sorted({key for values in kpis.values() for key in values})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS + kpi_columns)
    writer.writeheader()
    writer.writerows({**{k: r.get(k, "") for k in SUMMARY_COLUMNS}, **kpis.get(r["job"], {})} for r in results)
    csv_text = buffer.getvalue()
    atomic_write(sweep_dir / "sweep_summary.csv", lambda tmp: Path(tmp).write_text(csv_text))
    lines = ["| " + " | ".join(SUMMARY_COLUMNS[:-2]) + " |", "|" + "---|" * (len(SUMMARY_COLUMNS) - 2)]
    for r in results:
        best = r.get("best_eval_return")
        best_text = "" if best is None or (isinstance(best, float) and math.isnan(best)) else f"{best:.2f}"
        lines.append(f"| {r['job']} | `{r['overrides']}` | {r['status']} | {best_text} | {r['env_steps']} | "
                     f"{r['wall_seconds']} |")
    lines += write_grouped(sweep_dir, results)
    md_text = "\n".join(lines) + "\n"
    atomic_write(sweep_dir / "sweep_summary.md", lambda tmp: Path(tmp).write_text(md_text))
    return results
