"""A finished run rebuilt from its directory: ``config.yaml`` plus the weights of one checkpoint.

Shared by ``-cn rollout``, ``-cn export`` and :meth:`RunContext.from_run_dir`, so the three read a
run the same way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Tuple, Union

from omegaconf import DictConfig, OmegaConf, open_dict

from maze_cli.build import Components, build
from maze_cli.core.errors import check
from maze_cli.resume import CONFIG_FILE
from maze_cli.train.checkpoint import CheckpointError, load_checkpoint, load_state_strict
from maze_cli.train.loop import LAST_CHECKPOINT
from maze_cli.train.selection import BEST_CHECKPOINT

CHECKPOINTS = {"best": BEST_CHECKPOINT, "last": LAST_CHECKPOINT}


def load_run_config(input_dir: Optional[Union[str, Path]]) -> DictConfig:
    if not input_dir:
        raise CheckpointError("input_dir is required: the directory of a finished run (it holds config.yaml)")
    path = Path(input_dir) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"input_dir={str(input_dir)!r} holds no {CONFIG_FILE}: expected the directory of a run")
    return OmegaConf.load(path)


def load_run(run_dir: Union[str, Path], checkpoint: str = "best",
             adjust: Optional[Callable[[DictConfig], None]] = None) -> Tuple[DictConfig, Components]:
    """``(config, components)`` of a finished run with the weights of its ``best`` or ``last`` checkpoint.

    :param adjust: edits the run's config before anything is built (e.g. a render mode for filming).
    """
    check(checkpoint in CHECKPOINTS, "checkpoint", checkpoint, f"one of {list(CHECKPOINTS)}")
    cfg = load_run_config(run_dir)
    with open_dict(cfg):
        cfg.input_dir = None
        if adjust is not None:
            adjust(cfg)
    state = load_checkpoint(Path(run_dir) / CHECKPOINTS[checkpoint])
    components = build(cfg)
    load_state_strict(components.policy, state["policy"], "policy")
    if "critic" in state:
        load_state_strict(components.critic, state["critic"], "critic")
    return cfg, components
