"""Sweeps: per-job results, the sweep summary, the best job as a preset, the report, and Optuna pruning.

Optuna itself is imported only by the parts that tune (``study``, ``pruning``), so grid sweeps need no extra.
"""
from maze_cli.sweep.summary import (JOB_RESULT, SUMMARY_COLUMNS, SweepSummaryCallback, read_job_results,
                                    write_job_result, write_sweep_summary)

__all__ = ["JOB_RESULT", "SUMMARY_COLUMNS", "SweepSummaryCallback", "read_job_results", "write_job_result",
           "write_sweep_summary"]
