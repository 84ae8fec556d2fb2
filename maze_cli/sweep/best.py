"""The sweep's best job as an ``experiment`` preset: train it again with ``+experiment=best_experiment``."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from omegaconf import OmegaConf

from maze_cli.core.io import atomic_write
from maze_cli.sweep.summary import user_overrides

BEST_PRESET = Path("experiment") / "best_experiment.yaml"
"""Relative to the sweep directory, so ``hydra.searchpath=[file://<sweep dir>]`` finds it as a preset."""


def best_result(results: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The completed job with the best value of the selection metric (pruned and failed jobs never win)."""
    finished = [r for r in results if r["status"] == "completed" and isinstance(r.get("best_eval_return"), (int, float))
                and math.isfinite(r["best_eval_return"])]
    # a job whose selection metric is a cost (selection.mode=min) is better when lower
    return max(finished, key=lambda r: ((1 if r.get("selection_mode", "max") == "max" else -1) * r["best_eval_return"],
                                        -r["job"]), default=None)


def preset_text(overrides: List[str], groups: List[str], header: str) -> str:
    """YAML of an ``_global_`` preset that applies ``overrides``: group choices go to ``defaults``; a
    deletion (``~key``) cannot live in a preset, so the train command in the header carries it."""
    defaults: List[Any] = []
    deletions: List[str] = []
    values = OmegaConf.create({})
    for override in OverridesParser.create().parse_overrides(user_overrides(overrides)):
        key = override.key_or_group
        if key.startswith("hydra.") or key.startswith("hydra/"):
            continue  # hydra's own settings (launcher, sweep dir) are not part of the run's config
        if override.type == OverrideType.DEL:
            deletions.append(override.input_line)
        elif key in groups or key.split("@")[0] in groups:
            prefix = "" if override.is_add() else "override "
            defaults.append({f"{prefix}/{key}": override.value()})
        else:
            OmegaConf.update(values, key, _plain(override), force_add=True)
    body = OmegaConf.to_container(values)
    preset = {"defaults": defaults + ["_self_"], **body}
    command = " ".join([header] + deletions)
    return f"# @package _global_\n{command}\n" + OmegaConf.to_yaml(OmegaConf.create(preset))


def _plain(override: Override) -> Any:
    value = override.value()
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


def write_best_experiment(sweep_dir: Path, results: List[Dict[str, Any]]) -> Optional[Path]:
    """``<sweep dir>/experiment/best_experiment.yaml`` from the best job's ``.hydra`` files; None without one."""
    best = best_result(results)
    if best is None:
        return None
    job_dir = Path(best["run_dir"])
    overrides = list(OmegaConf.load(job_dir / ".hydra" / "overrides.yaml"))
    choices = OmegaConf.load(job_dir / ".hydra" / "hydra.yaml").hydra.runtime.choices
    groups = [g for g in choices if not g.startswith("hydra/")]
    header = (f"# Best job of the sweep: job {best['job']} ({job_dir}), best eval return "
              f"{best['best_eval_return']:.2f}.\n# Train it: maze-run +experiment=best_experiment "
              f"'hydra.searchpath=[file://{sweep_dir.resolve()}]'")
    path = sweep_dir / BEST_PRESET
    path.parent.mkdir(exist_ok=True)
    text = preset_text(overrides, groups, header)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path
