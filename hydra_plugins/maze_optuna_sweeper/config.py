"""``hydra/sweeper=maze_optuna``: the sweeper's settings (see docs/sweeps.md)."""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class SamplerConf:
    # tpe | random | cmaes | grid (grid needs choice(...)/range(...) for every swept key)
    name: str = "tpe"
    seed: Optional[int] = None


@dataclass
class PrunerConf:
    # none | median | successive_halving; fed by every epoch's eval return of a job
    name: str = "median"
    # median: trials that always finish before pruning starts, epochs a trial always runs, ...
    n_startup_trials: int = 5
    n_warmup_steps: int = 1
    interval_steps: int = 1
    n_min_trials: int = 1
    # successive_halving
    min_resource: Any = "auto"
    reduction_factor: int = 4
    min_early_stopping_rate: int = 0


@dataclass
class MazeOptunaSweeperConf:
    _target_: str = "hydra_plugins.maze_optuna_sweeper.sweeper.MazeOptunaSweeper"
    sampler: SamplerConf = field(default_factory=SamplerConf)
    pruner: PrunerConf = field(default_factory=PrunerConf)
    # maximize the job's best eval return
    direction: str = "maximize"
    # finished trials of the study (completed, pruned, failed) to reach; a resumed study counts earlier ones
    n_trials: int = 20
    # trials launched at once (run in parallel by a parallel launcher, e.g. hydra/launcher=joblib)
    n_jobs: int = 1
    # RDB URL of the study; null: sqlite in the sweep directory (optuna.db)
    storage: Optional[str] = None
    study_name: str = "maze_sweep"
    # the per-epoch statistic reported to the pruner
    metric: str = "eval/episode_return_mean"
    # search space in the config: key -> sweep expression (the command line can add more)
    params: Dict[str, str] = field(default_factory=dict)


ConfigStore.instance().store(group="hydra/sweeper", name="maze_optuna", node=MazeOptunaSweeperConf,
                             provider="maze_cli")
