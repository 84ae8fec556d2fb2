"""One training run: run directory, config.yaml, logging, resume, train. Shared by CLI and RunContext."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional, Sequence, Tuple

from omegaconf import DictConfig, OmegaConf

from maze_cli.build import Components, build
from maze_cli.core.io import atomic_write
from maze_cli.logging import setup_logging
from maze_cli.resume import CONFIG_FILE, carry_over, resumed_config
from maze_cli.train.checkpoint import load_checkpoint
from maze_cli.train.loop import LAST_CHECKPOINT, TrainingLoop
from maze_cli.train.selection import BEST_CHECKPOINT

logger = logging.getLogger("maze_cli")

def write_config(cfg: DictConfig, run_dir: Path) -> None:
    text = OmegaConf.to_yaml(cfg, resolve=True)
    atomic_write(run_dir / CONFIG_FILE, lambda tmp: Path(tmp).write_text(text))


def resume_state(input_dir: str, cfg: DictConfig) -> dict:
    """The last checkpoint of ``input_dir`` (its best when the last is missing)."""
    run = Path(input_dir)
    if not (run / LAST_CHECKPOINT).is_file() and (run / BEST_CHECKPOINT).is_file():
        logger.warning(f"input_dir={input_dir!r} has no {LAST_CHECKPOINT} (was its disk full?): resuming from "
                       f"{BEST_CHECKPOINT}, the best epoch's state")
        return load_checkpoint(run / BEST_CHECKPOINT)
    return load_checkpoint(run / LAST_CHECKPOINT)


def prepare_run(cfg: DictConfig, run_dir: Optional[Path], overrides: Sequence[str] = (),
                **objects: Any) -> Tuple[DictConfig, Components, TrainingLoop]:
    """Build everything and validate resume input *before* anything is written but the log.

    With ``input_dir`` the run continues the saved run (its config with ``overrides`` applied, see
    :mod:`maze_cli.resume`); returns the config actually used.
    """
    if run_dir is not None:
        setup_logging(run_dir)
    if cfg.get("input_dir"):
        cfg = resumed_config(cfg, overrides)
    components = build(cfg, **objects)
    state = resume_state(cfg.input_dir, cfg) if cfg.get("input_dir") else None
    if state is not None:
        carry_over(Path(cfg.input_dir), run_dir)
    trainer = components.make_trainer(run_dir)
    if state is not None:
        trainer.load_state_dict(state)
        trainer.load_side_state(Path(cfg.input_dir) / Path(LAST_CHECKPOINT).parent)
        logger.info(f"resumed from {cfg.input_dir} at epoch {trainer.epoch}")
    if run_dir is not None:
        write_config(cfg, run_dir)
        logger.info(f"run directory: {run_dir}")
    return cfg, components, trainer
