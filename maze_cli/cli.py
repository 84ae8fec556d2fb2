"""maze-run: the Hydra entry point. Composition and wiring are shared with RunContext."""
from __future__ import annotations

import logging
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from maze_cli.config_compose import drop_keys_of_replaced_targets
from maze_cli.config_validation import validated_dataclass
from maze_cli.help import register_resolver
from maze_cli.logging.console import setup_logging
from maze_cli.sweep import register_sweeper, write_job_result
from maze_cli.train.interrupts import TrainingInterrupted, active_stop_request

logger = logging.getLogger("maze_cli")

USER_ERRORS = (ValueError, TypeError, RuntimeError, KeyError, OSError, ImportError, OmegaConfBaseException)
"""Errors that describe bad input or a failed env; shown as one line unless HYDRA_FULL_ERROR=1."""


def _in_sweep() -> bool:
    return HydraConfig.get().mode.name == "MULTIRUN"


def train(cfg: DictConfig, run_dir: Path) -> float:
    """Train one run into Hydra's output directory; returns the best return it reports (for sweepers)."""
    start = time.perf_counter()
    overrides = list(HydraConfig.get().overrides.task)
    drop_keys_of_replaced_targets(cfg, dict(HydraConfig.get().runtime.choices), overrides)
    if not cfg.get("input_dir"):  # a bad algorithm value fails before torch and the training stack are imported
        validated_dataclass(cfg.algorithm, "algorithm")
    from maze_cli.run import prepare_run  # torch and the training stack: only for commands that train

    _, _, trainer = prepare_run(cfg, run_dir, overrides)
    best = trainer.train()
    outcome = trainer.stop_reason or f"trained {trainer.epoch} epochs, {trainer.env_steps:,} env steps"
    reported = trainer.model_selection.reported_episodes
    held_out = f" on {reported} held-out episodes" if reported else ""
    logger.info(f"{outcome} | best return {best:.1f}{held_out}: {run_dir / 'checkpoints' / 'best.pt'} | watch it: "
                f"maze-run -cn rollout input_dir={run_dir}")
    if _in_sweep():
        write_job_result(run_dir, "completed", best, trainer.env_steps, time.perf_counter() - start,
                         selection_mode=str((cfg.get("selection") or {}).get("mode", "max")))
    return best


def run_rollout(cfg: DictConfig, run_dir: Path) -> float:
    from maze_cli.evaluation_command import rollout

    setup_logging(None)
    return rollout(cfg, run_dir)["rollout/episode_return_mean"]


def run_sweep_report(cfg: DictConfig, run_dir: Path) -> float:
    from maze_cli.sweep.finish import redraw

    return redraw(Path(cfg.input_dir))


def run_export(cfg: DictConfig, run_dir: Path) -> float:
    from maze_cli.export.command import export

    setup_logging(None)
    export(cfg, run_dir)
    return 0.0


TASKS = {"rollout": run_rollout, "sweep_report": run_sweep_report, "export": run_export}
"""Config name (``-cn``) -> task; every other config trains."""


def report_errors(task: Callable[[DictConfig, Path], float], cfg: DictConfig) -> float:
    """Run ``task``; a user error becomes one line on stderr: exit code 1 for a single run, a
    failed entry in the sweep summary (and NaN for the sweeper) for a sweep job."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    start = time.perf_counter()
    sweep_stop = active_stop_request()
    if sweep_stop is None:
        # outside training (building, drawing the learning curve) SIGTERM ends the task like Ctrl-C does;
        # during training the loop's own handlers save a checkpoint first
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        if sweep_stop is not None:
            sweep_stop.check()  # the sweep was stopped: start no further job
        result = task(cfg, run_dir)
    except TrainingInterrupted as interrupt:
        sys.exit(interrupt.exit_code)
    except KeyboardInterrupt:
        logger.warning("interrupted by SIGINT outside training; every file written so far is complete")
        sys.exit(128 + signal.SIGINT)
    except USER_ERRORS as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        message = f"{type(err).__name__}: {err}"
        logger.error(f"Error: {message}")
        if not logger.handlers:
            print(f"Error: {message}", file=sys.stderr)
        if _in_sweep():
            write_job_result(run_dir, "failed", wall_seconds=time.perf_counter() - start, error=message)
            return math.nan
        from maze_cli.run_dir import discard_unused_run_dir

        if discard_unused_run_dir(run_dir):
            print(f"nothing was written: the run directory {run_dir} was removed", file=sys.stderr)
        sys.exit(1)
    finally:
        if sweep_stop is None:
            # the task's files are final; a signal during Ray's or the interpreter's shutdown (atexit) would print an
            # "Exception ignored" traceback, exit 0 or hang Ray's shutdown, so it ends the process at once
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, _exit_at_once)
    return result


def _interrupt(signum: int, frame: Any) -> None:
    raise TrainingInterrupted(signum)


def _exit_at_once(signum: int, frame: Any) -> None:
    for handler in logging.getLogger().handlers + logger.handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + signum)


register_resolver()
register_sweeper()


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    task = TASKS.get(HydraConfig.get().job.config_name, train)
    return report_errors(task, cfg)


if __name__ == "__main__":
    main()
