"""A Hydra sweeper on current Optuna: ask trials, launch them as jobs, tell the study how each ended."""
import logging
import math
import os
import signal
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

PRUNING_CALLBACK = "maze_cli.sweep.pruning.OptunaPruning"


class MazeOptunaSweeper(Sweeper):
    """``hydra/sweeper=maze_optuna``: trials are jobs of the configured launcher (parallel with joblib, Ray,
    SLURM); each job reports its epochs to the study through the RDB storage, where the pruner reads them."""

    def __init__(self, sampler: Any, pruner: Any, direction: str, n_trials: int, n_jobs: int,
                 storage: Optional[str], study_name: str, metric: str, params: Optional[Dict[str, str]]):
        self.settings = {"sampler": _plain(sampler), "pruner": _plain(pruner), "direction": direction,
                         "n_trials": n_trials, "n_jobs": n_jobs, "study_name": study_name}
        self.storage, self.metric, self.params = storage, metric, _plain(params) or {}
        self.config: Optional[DictConfig] = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> List[Any]:
        """Run trials until the study holds ``n_trials`` finished ones; bad settings are one line on stderr."""
        from maze_cli.core.errors import ConfigError

        try:
            return self._sweep(arguments)
        except ConfigError as err:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            print(f"Error: {err}", file=sys.stderr)
            raise SystemExit(1) from None

    def _sweep(self, arguments: List[str]) -> List[Any]:
        from maze_cli.sweep.space import parse_search_space
        from maze_cli.sweep.study import storage_url
        from maze_cli.sweep.summary import write_sweep_summary
        from maze_cli.sweep.tuning import finished_trials, open_study
        from maze_cli.train.interrupts import StopRequest

        sweep_dir = Path(self.config.hydra.sweep.dir)
        space = parse_search_space(arguments, self.params)
        storage = storage_url(self.storage, sweep_dir)
        study = open_study(sweep_dir, storage, self.settings, space.grid)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        n_trials = self.settings["n_trials"]
        if space.grid is not None and self.settings["sampler"].get("name") == "grid":
            n_trials = min(n_trials, math.prod(len(values) for values in space.grid.values()))
        done = finished_trials(study)
        log.info(f"Optuna study {study.study_name!r} in {storage}: {done} of {n_trials} trials done")
        returns: List[Any] = []
        with StopRequest() as stop:  # Ctrl-C: the running job saves and stops, no further trial starts
            try:
                while done < n_trials and stop.signum is None:
                    batch = min(self.settings["n_jobs"], n_trials - done)
                    returns.extend(self._run_batch(study, space, storage, sweep_dir, batch))
                    done = finished_trials(study)
            except (KeyboardInterrupt, SystemExit):
                if stop.signum is None:
                    raise
            if stop.signum is not None:
                write_sweep_summary(sweep_dir)
                print(f"sweep stopped by {signal.Signals(stop.signum).name}: {finished_trials(study)} of {n_trials} "
                      f"trials done in {sweep_dir}; run the same command again to resume", file=sys.stderr)
                raise SystemExit(128 + stop.signum)
        return returns

    def _run_batch(self, study: Any, space: Any, storage: str, sweep_dir: Path, size: int) -> List[Any]:
        """Ask ``size`` trials, run them as one launcher batch, tell the study their outcomes."""
        from maze_cli.sweep.summary import write_sweep_summary
        from maze_cli.sweep.tuning import next_job_number, settle_stopped_batch, tell_outcome

        first_job = next_job_number(sweep_dir)
        trials: List[Any] = []
        batch = []
        try:  # from the first ask on: a trial of a stopped batch is marked interrupted, never left running
            for offset in range(size):
                trials.append(study.ask(space.distributions))
                trials[-1].set_user_attr("job", first_job + offset)
                batch.append(space.overrides(trials[-1].params) + self._pruning_overrides(storage, study, trials[-1]))
            self.validate_batch_is_legal(batch)
            jobs = self.launcher.launch(batch, initial_job_idx=first_job)
        except BaseException:
            settle_stopped_batch(study, trials, sweep_dir)
            raise
        for offset, (trial, job) in enumerate(zip(trials, jobs)):
            status = tell_outcome(study, trial, job, first_job + offset)
            log.info(f"trial {trial.number} (job {first_job + offset}): {status}")
        write_sweep_summary(sweep_dir)
        return list(jobs)

    def _pruning_overrides(self, storage: str, study: Any, trial: Any) -> List[str]:
        """The training-loop callback that reports each epoch to this trial (see maze_cli.sweep.pruning)."""
        prefix = "+callbacks.optuna_pruning"
        pruner = ",".join(f"{k}:{_quote(v)}" for k, v in self.settings["pruner"].items())
        return [f"{prefix}._target_={PRUNING_CALLBACK}", f"{prefix}.storage={_quote(storage)}",
                f"{prefix}.study_name={_quote(study.study_name)}", f"{prefix}.trial_number={trial.number}",
                f"{prefix}.pruner={{{pruner}}}", f"{prefix}.metric={_quote(self.metric)}"]


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def _quote(value: Any) -> str:
    """A value as a quoted override string (URLs and metric names hold ':' and '/')."""
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
