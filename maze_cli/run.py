"""One training run: run directory, config.yaml, logging, resume, train. Shared by CLI and RunContext."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Optional, Tuple

from omegaconf import DictConfig, OmegaConf

from maze_cli.build import Components, build
from maze_cli.core.io import atomic_write
from maze_cli.logging import setup_logging
from maze_cli.train.checkpoint import CheckpointError, load_checkpoint
from maze_cli.train.loop import LAST_CHECKPOINT, TrainingLoop
from maze_cli.train.selection import BEST_CHECKPOINT

logger = logging.getLogger("maze_cli")

CONFIG_FILE = "config.yaml"


def write_config(cfg: DictConfig, run_dir: Path) -> None:
    text = OmegaConf.to_yaml(cfg, resolve=True)
    atomic_write(run_dir / CONFIG_FILE, lambda tmp: Path(tmp).write_text(text))


def resume_state(input_dir: str, cfg: DictConfig) -> dict:
    """The last checkpoint of ``input_dir`` (its best when the last is missing), refused when that run trained
    a different env."""
    run = Path(input_dir)
    if not run.is_dir():
        raise CheckpointError(f"input_dir={input_dir!r} does not exist: expected the directory of an earlier run")
    saved_cfg = run / CONFIG_FILE
    if saved_cfg.is_file():
        old = OmegaConf.load(saved_cfg)
        if OmegaConf.to_container(old.get("env")) != OmegaConf.to_container(cfg.get("env")):
            raise CheckpointError(f"input_dir={input_dir!r} holds a run of env {OmegaConf.to_container(old.get('env'))}"
                                  f", but this run's env is {OmegaConf.to_container(cfg.get('env'))}")
    if not (run / LAST_CHECKPOINT).is_file() and (run / BEST_CHECKPOINT).is_file():
        logger.warning(f"input_dir={input_dir!r} has no {LAST_CHECKPOINT} (was its disk full?): resuming from "
                       f"{BEST_CHECKPOINT}, the best epoch's state")
        return load_checkpoint(run / BEST_CHECKPOINT)
    return load_checkpoint(run / LAST_CHECKPOINT)


def carry_over_best(input_dir: Path, run_dir: Optional[Path]) -> None:
    """A resumed run starts with the earlier run's best checkpoint: model selection continues
    from that best return, so ``best.pt`` must exist even if no later epoch beats it."""
    best = input_dir / BEST_CHECKPOINT
    if run_dir is not None and best.is_file():
        (run_dir / BEST_CHECKPOINT).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(run_dir / BEST_CHECKPOINT, lambda tmp: shutil.copyfile(best, tmp))


def prepare_run(cfg: DictConfig, run_dir: Optional[Path], **objects: Any) -> Tuple[Components, TrainingLoop]:
    """Build everything and validate resume input *before* anything is written but the log."""
    if run_dir is not None:
        setup_logging(run_dir)
    components = build(cfg, **objects)
    state = resume_state(cfg.input_dir, cfg) if cfg.get("input_dir") else None
    trainer = components.make_trainer(run_dir)
    if state is not None:
        trainer.load_state_dict(state)
        carry_over_best(Path(cfg.input_dir), run_dir)
        logger.info(f"resumed from {cfg.input_dir} at epoch {trainer.epoch}")
    if run_dir is not None:
        write_config(cfg, run_dir)
        logger.info(f"run directory: {run_dir}")
    return components, trainer
