"""The sweeper's side of an Optuna study: open or resume it, tell it how each job ended."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, List, Mapping

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from maze_cli.core.errors import ConfigError
from maze_cli.sweep.study import STUDY_FILE, make_pruner, make_sampler, open_storage
from maze_cli.sweep.summary import JOB_RESULT, read_job_results, record_job_result

INTERRUPTED = "interrupted"
"""User attribute of a trial whose sweep was stopped while it ran: failed, but not counted as done."""


def open_study(sweep_dir: Path, storage: str, settings: Mapping[str, Any], grid: Any) -> Any:
    """Create the study or load it (``load_if_exists``): the same command with the same storage resumes it."""
    import optuna

    if settings["direction"] not in ("maximize", "minimize"):
        raise ConfigError(f"hydra.sweeper.direction={settings['direction']!r}; expected maximize or minimize")
    for key in ("n_trials", "n_jobs"):
        if not isinstance(settings[key], int) or settings[key] < 1:
            raise ConfigError(f"hydra.sweeper.{key}={settings[key]!r}; expected a positive integer")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(storage=open_storage(storage), study_name=settings["study_name"],
                                sampler=make_sampler(settings["sampler"], grid),
                                pruner=make_pruner(settings["pruner"]), direction=settings["direction"],
                                load_if_exists=True)
    record = {"storage": storage, "study_name": settings["study_name"], "direction": settings["direction"]}
    OmegaConf.save(OmegaConf.create(record), sweep_dir / STUDY_FILE)
    return study


def finished_trials(study: Any) -> int:
    """Trials that count towards ``n_trials``: completed, pruned, failed (but not interrupted)."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return sum(not t.user_attrs.get(INTERRUPTED) for t in study.get_trials(deepcopy=False, states=states))


def next_job_number(sweep_dir: Path) -> int:
    """The first unused job directory number, so a resumed sweep never writes into an earlier job."""
    numbers = [int(p.name) for p in sweep_dir.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(numbers, default=-1) + 1


def settle_stopped_batch(study: Any, trials: List[Any], sweep_dir: Path) -> None:
    """Tell the study how the trials of a stopped batch (Ctrl-C) ended: a job that wrote its result
    finished; the others are marked interrupted, so a resumed sweep runs them again."""
    from optuna.trial import TrialState

    results = {r["job"]: r for r in read_job_results(sweep_dir)}
    for trial in trials:
        result = results.get(trial.user_attrs.get("job"))
        if result is not None:
            _tell(study, trial, result["status"], result["best_eval_return"])
        else:
            trial.set_user_attr(INTERRUPTED, True)
            study.tell(trial, state=TrialState.FAIL)


def tell_outcome(study: Any, trial: Any, job: JobReturn, job_number: int) -> str:
    """Tell the study how a job ended (completed with its value, pruned, or failed); returns the status."""
    run_dir = Path(job.hydra_cfg.hydra.runtime.output_dir) if job.hydra_cfg is not None else None
    if job.status == JobStatus.FAILED:
        error = f"{type(job._return_value).__name__}: {job._return_value}"
        if run_dir is not None and not (run_dir / JOB_RESULT).is_file():
            record_job_result(run_dir, job_number, list(job.overrides), "failed", error=error)
        return _tell(study, trial, "failed", None)
    return _tell(study, trial, _job_status(run_dir), job.return_value)


def _tell(study: Any, trial: Any, status: str, value: Any) -> str:
    """Completed with a finite value, pruned, or failed (anything else); returns the status told."""
    from optuna.trial import TrialState

    if status == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    elif status == "failed" or value is None or not math.isfinite(value):
        study.tell(trial, state=TrialState.FAIL)
        status = "failed"
    else:
        study.tell(trial, float(value))
    return status


def _job_status(run_dir: Any) -> str:
    try:
        return json.loads((run_dir / JOB_RESULT).read_text())["status"]
    except (OSError, ValueError, KeyError, TypeError):
        return "completed"
