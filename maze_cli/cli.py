"""maze-run: the Hydra entry point. Composition and wiring are shared with RunContext."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from maze_cli.run import prepare_run

logger = logging.getLogger("maze_cli")

USER_ERRORS = (ValueError, TypeError, RuntimeError, KeyError, FileNotFoundError)
"""Errors that describe bad input or a failed env; shown as one line unless HYDRA_FULL_ERROR=1."""


def train(cfg: DictConfig) -> float:
    """Train one run into Hydra's output directory; returns the best evaluation return (for sweepers)."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    _, trainer = prepare_run(cfg, run_dir)
    return trainer.train()


def report_errors(task, cfg: DictConfig):
    """Run ``task(cfg)``; a user error becomes one line on stderr and exit code 1."""
    try:
        return task(cfg)
    except USER_ERRORS as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        logger.error(f"Error: {type(err).__name__}: {err}")
        print(f"Error: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return report_errors(train, cfg)


if __name__ == "__main__":
    main()
