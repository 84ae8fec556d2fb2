"""Optuna pieces shared by the sweeper (one process) and the pruning callback (every job's process)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from maze_cli.core.errors import ConfigError

PRUNERS = ("none", "median", "successive_halving")
SAMPLERS = ("tpe", "random", "cmaes", "grid")
STUDY_FILE = "sweep_study.yaml"
"""In the sweep directory: where the study lives, so the report can be redrawn later."""


def storage_url(storage: Optional[str], sweep_dir: Path) -> str:
    """The RDB URL of the study: SQLite in the sweep directory unless a URL is given."""
    return storage or f"sqlite:///{(sweep_dir / 'optuna.db').resolve()}"


def open_storage(url: str) -> Any:
    """Optuna's RDB storage; SQLite waits for a lock instead of failing when jobs report at the same time."""
    import optuna

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


def make_pruner(spec: Optional[Mapping[str, Any]]) -> Any:
    """An Optuna pruner from ``{name: none|median|successive_halving, ...its keyword arguments}``."""
    import optuna

    kwargs = dict(spec or {})
    name = kwargs.pop("name", "none")
    if name not in PRUNERS:
        raise ConfigError(f"hydra.sweeper.pruner.name={name!r} is not a pruner; expected one of {list(PRUNERS)}")
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        keys = ("n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials")
        return optuna.pruners.MedianPruner(**{k: v for k, v in kwargs.items() if k in keys and v is not None})
    keys = ("min_resource", "reduction_factor", "min_early_stopping_rate")
    return optuna.pruners.SuccessiveHalvingPruner(**{k: v for k, v in kwargs.items() if k in keys and v is not None})


def make_sampler(spec: Mapping[str, Any], grid: Optional[Dict[str, list]]) -> Any:
    """An Optuna sampler from ``{name: tpe|random|cmaes|grid, seed: ...}``; grid needs the choices of every key."""
    import optuna

    name, seed = spec.get("name", "tpe"), spec.get("seed")
    if name not in SAMPLERS:
        raise ConfigError(f"hydra.sweeper.sampler.name={name!r} is not a sampler; expected one of {list(SAMPLERS)}")
    if name == "grid":
        if grid is None:
            raise ConfigError("hydra.sweeper.sampler.name=grid needs choice(...) or range(...) for every swept key "
                              "(interval(...) has no grid)")
        return _grid_sampler_class()(grid, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def load_trial(storage: str, study_name: str, trial_number: int, pruner: Optional[Mapping[str, Any]]) -> Any:
    """The running trial ``trial_number`` of a study, reached through its storage (jobs run in other processes)."""
    import optuna

    rdb = open_storage(storage)
    study = optuna.load_study(study_name=study_name, storage=rdb, pruner=make_pruner(pruner))
    trial_id = rdb.get_trial_id_from_study_id_trial_number(rdb.get_study_id_from_name(study_name), trial_number)
    return optuna.trial.Trial(study, trial_id)


def _grid_sampler_class() -> type:
    """Optuna's grid sampler without its ``study.stop()`` once the grid is used up: that works only inside
    ``study.optimize``, and the sweeper (ask and tell) already stops at the grid's size."""
    import optuna

    class SweepGridSampler(optuna.samplers.GridSampler):
        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            """Nothing to do after a trial; the grid position was recorded when it was sampled."""

    return SweepGridSampler
