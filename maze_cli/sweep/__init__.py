"""Sweeps: per-job results, the sweep summary, the best job as a preset, the report, and Optuna pruning.

Optuna itself is imported only by the parts that tune (``study``, ``tuning``, ``pruning``), so grid sweeps
need no extra.
"""
from maze_cli.sweep.finish import SweepSummaryCallback
from maze_cli.sweep.summary import JOB_RESULT, SUMMARY_COLUMNS, read_job_results, write_job_result, write_sweep_summary


def register_sweeper() -> None:
    """Make ``hydra/sweeper=maze_optuna`` known to Hydra even when its plugin scan misses it.

    Hydra finds plugins by listing the ``hydra_plugins`` namespace package; an editable install
    (``pip install -e``) maps our part of that namespace through an import hook the listing cannot see.
    Registering the class and its config directly works for every kind of install.
    """
    from hydra.core.plugins import Plugins

    import hydra_plugins.maze_optuna_sweeper.config  # noqa: F401  (stores hydra/sweeper/maze_optuna)
    from hydra_plugins.maze_optuna_sweeper.sweeper import MazeOptunaSweeper

    Plugins.instance().register(MazeOptunaSweeper)


__all__ = ["JOB_RESULT", "SUMMARY_COLUMNS", "SweepSummaryCallback", "read_job_results", "register_sweeper",
           "write_job_result", "write_sweep_summary"]
