"""Seed-aware sweep summaries: jobs that differ only by ``seed`` are one configuration, reported as mean ± std.

One seed is one sample of a noisy outcome; ranking configurations on single seeds ranks luck. The
grouped table (``sweep_by_config.csv`` and a section of ``sweep_summary.md``) gives, per configuration,
the mean and standard deviation over its completed seeds of the best and the final evaluation return
and of the env steps to its ``stop_at_return`` threshold (when set), ranked by the mean best.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from omegaconf import OmegaConf

from maze_cli.core.io import atomic_write

GROUP_COLUMNS = ["config", "seeds", "best_mean", "best_std", "final_mean", "final_std", "steps_to_threshold_mean",
                 "steps_to_threshold_std", "reached"]


def config_key(overrides: str) -> str:
    """A job's overrides without its ``seed=...``: the configuration it samples."""
    return " ".join(o for o in overrides.split() if not o.startswith(("seed=", "+seed=")))


def run_outcome(run_dir: Path) -> Tuple[float, Optional[int]]:
    """``(final return, env steps to the threshold or None)`` from a run's ``stats.csv`` and ``config.yaml``."""
    stats, config = run_dir / "stats.csv", run_dir / "config.yaml"
    if not stats.is_file():
        return math.nan, None
    with open(stats) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return math.nan, None

    def value(row: Dict[str, str]) -> float:
        text = row.get("eval/episode_return_mean") or row.get("train/episode_return_mean") or "nan"
        return float(text)
    threshold = OmegaConf.load(config).algorithm.get("stop_at_return") if config.is_file() else None
    reached = None
    if isinstance(threshold, (int, float)):
        reached = next((int(float(r["time/env_steps"])) for r in rows if value(r) >= threshold), None)
    return value(rows[-1]), reached


def _mean_std(values: List[float]) -> Tuple[float, float]:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return (float(np.mean(values)), float(np.std(values))) if values else (math.nan, math.nan)


def group_by_config(results: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One row per configuration with at least two completed seeds, best first (by ``selection_mode``)."""
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for r in results:
        if r.get("status") == "completed":
            groups.setdefault(config_key(str(r.get("overrides", ""))), []).append(r)
    rows = []
    for config, jobs in groups.items():
        if len(jobs) < 2:
            continue
        outcomes = [run_outcome(Path(job["run_dir"])) for job in jobs]
        best = _mean_std([float(job["best_eval_return"]) for job in jobs])
        final = _mean_std([final for final, _ in outcomes])
        reached = [steps for _, steps in outcomes if steps is not None]
        steps = _mean_std([float(s) for s in reached])
        sign = 1 if jobs[0].get("selection_mode", "max") == "max" else -1
        rows.append({"config": config or "(defaults)", "seeds": len(jobs), "best_mean": best[0], "best_std": best[1],
                     "final_mean": final[0], "final_std": final[1], "steps_to_threshold_mean": steps[0],
                     "steps_to_threshold_std": steps[1], "reached": f"{len(reached)}/{len(jobs)}", "_rank": sign * best[0]})
    rows.sort(key=lambda row: -row["_rank"] if not math.isnan(row["_rank"]) else math.inf)
    return rows


def write_grouped(sweep_dir: Path, results: List[Dict[str, Any]]) -> List[str]:
    """Writes ``sweep_by_config.csv``; returns the Markdown lines of the grouped table (none without repeats)."""
    rows = group_by_config(results)
    if not rows:
        return []
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=GROUP_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    text = buffer.getvalue()
    atomic_write(sweep_dir / "sweep_by_config.csv", lambda tmp: Path(tmp).write_text(text))

    def pm(mean: float, std: float) -> str:
        return "-" if math.isnan(mean) else f"{mean:.2f} ± {std:.2f}"
    lines = ["", "## Over seeds (configurations with two or more completed seeds, best first)", "",
             "| rank | config | seeds | best return | final return | env steps to threshold (reached) |",
             "|---|---|---|---|---|---|"]
    for rank, row in enumerate(rows, 1):
        steps = "-" if math.isnan(row["steps_to_threshold_mean"]) else \
            f"{row['steps_to_threshold_mean']:,.0f} ± {row['steps_to_threshold_std']:,.0f}"
        lines.append(f"| {rank} | `{row['config']}` | {row['seeds']} | {pm(row['best_mean'], row['best_std'])} | "
                     f"{pm(row['final_mean'], row['final_std'])} | {steps} ({row['reached']}) |")
    return lines
