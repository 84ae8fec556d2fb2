"""``sweep_report.png``: every job's eval-return curve (best highlighted) and, for an Optuna study, the
optimisation history and parameter importances. Drawn from the files only, so it works for any sweep dir."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf

from maze_cli.core.io import atomic_write
from maze_cli.sweep.best import best_result
from maze_cli.sweep.study import STUDY_FILE
from maze_cli.sweep.summary import read_job_results

REPORT_FILE = "sweep_report.png"
STEPS, RETURN = "time/env_steps", "eval/episode_return_mean"


def read_curve(run_dir: Path) -> List[tuple]:
    """(env steps, eval return) per epoch from a job's ``stats.csv`` (empty when it has none yet)."""
    try:
        rows = list(csv.DictReader(open(run_dir / "stats.csv")))
    except OSError:
        return []
    return [(float(r[STEPS]), float(r[RETURN])) for r in rows if r.get(STEPS) and r.get(RETURN)]


def load_study(sweep_dir: Path) -> Any:
    """The sweep's Optuna study if it had one (``sweep_study.yaml``), else None."""
    if not (sweep_dir / STUDY_FILE).is_file():
        return None
    import optuna

    from maze_cli.sweep.study import open_storage

    record = OmegaConf.load(sweep_dir / STUDY_FILE)
    return optuna.load_study(study_name=record.study_name, storage=open_storage(record.storage))


def _plot_curves(ax: Any, results: List[Dict[str, Any]]) -> None:
    best = best_result(results)
    for result in results:
        curve = read_curve(Path(result["run_dir"]))
        if not curve:
            continue
        is_best = best is not None and result["job"] == best["job"]
        style = ({"color": "crimson", "linewidth": 2.5, "zorder": 3, "label": f"best: job {result['job']}"}
                 if is_best else {"color": "grey", "alpha": 0.5, "linewidth": 1})
        ax.plot(*zip(*curve), linestyle="--" if result["status"] == "pruned" else "-", marker="o", markersize=3,
                **style)
    ax.set(title="eval return of every job (dashed: pruned)", xlabel="env steps", ylabel="mean eval return")
    if best is not None:
        ax.legend()


def _plot_history(ax: Any, study: Any) -> None:
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    ax.scatter([t.number for t in done], [t.value for t in done], color="steelblue", label="trial")
    pick = max if study.direction.name == "MAXIMIZE" else min
    best_so_far = [pick(t.value for t in done[: i + 1]) for i in range(len(done))]
    last = max((t.number for t in study.get_trials(deepcopy=False)), default=0)
    if done:
        ax.step([t.number for t in done] + [last], best_so_far + best_so_far[-1:], where="post",
                color="crimson", label="best so far")
    pruned = [t for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)) if t.intermediate_values]
    ax.scatter([t.number for t in pruned], [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
               color="grey", marker="x", label="pruned (last report)")
    ax.set(title=f"optimisation history ({study.study_name})", xlabel="trial", ylabel="objective")
    ax.legend()


def _plot_importances(ax: Any, study: Any) -> None:
    import warnings

    import optuna

    message = "no completed trials yet"
    try:
        with warnings.catch_warnings():  # few trials: the evaluator warns that importances are equal
            warnings.simplefilter("ignore")
            importances = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError) as err:  # too few completed trials, or a single-valued space
        importances, message = {}, str(err)
    ax.set(title="parameter importances (Optuna default evaluator)")
    if importances:
        ax.barh(list(importances), list(importances.values()), color="steelblue")
        ax.invert_yaxis()
    else:
        ax.text(0.5, 0.5, f"not available:\n{message[:80]}", ha="center", va="center", wrap=True)


def write_sweep_report(sweep_dir: Path, study: Optional[Any] = None) -> Path:
    """Draw ``<sweep dir>/sweep_report.png`` from the jobs' ``stats.csv`` and the study, if any."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    study = study if study is not None else load_study(sweep_dir)
    panels = 3 if study is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5), squeeze=False)
    _plot_curves(axes[0][0], read_job_results(sweep_dir))
    if study is not None:
        _plot_history(axes[0][1], study)
        _plot_importances(axes[0][2], study)
    fig.tight_layout()
    path = sweep_dir / REPORT_FILE
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)
    return path
