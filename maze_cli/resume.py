"""Resuming a run: the saved run's config with only the overrides given now, its files carried over.

``input_dir=<run>`` must continue *that* run. The config is the saved ``config.yaml``; each override
on the command line (or in ``RunContext(overrides=...)``) replaces the value at its key, taken from
the freshly composed config, and is listed in the log. Changing what the checkpoint was trained as
(the env, the algorithm, the networks, the runner kind) is refused unless ``resume.allow_changes=true``.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

from maze_cli.core.errors import ConfigError
from maze_cli.core.io import atomic_write
from maze_cli.train.checkpoint import CheckpointError

logger = logging.getLogger("maze_cli")

CONFIG_FILE = "config.yaml"
PROTECTED = {"env": "env", "algorithm._target_": "algorithm", "policy": "policy", "critic": "critic",
             "runner._target_": "runner", "normalization": "observation normalisation"}
"""Keys whose change would make the checkpoint belong to a different experiment."""
CARRIED_OVER = ("checkpoints/best.pt", "stats.csv")


def override_keys(overrides: Sequence[str]) -> List[Tuple[str, bool]]:
    """``(key, deleted?)`` of the config keys (or groups) a list of Hydra overrides sets or deletes
    (``~key``), ``input_dir`` left out."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    keys = [(o.key_or_group, o.is_delete()) for o in parsed if o.key_or_group != "input_dir"]
    if any(key == "experiment" for key, _ in keys):
        raise ConfigError("input_dir= with +experiment=: the saved run already holds its experiment's settings; "
                          "override single keys instead (e.g. algorithm.lr=0.001)")
    return keys


def resumed_config(composed: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """The saved config of ``composed.input_dir`` with the values of the keys in ``overrides`` from ``composed``."""
    run = Path(composed.input_dir)
    if not run.is_dir():
        raise CheckpointError(f"input_dir={str(composed.input_dir)!r} does not exist: expected the directory of an "
                              f"earlier run")
    if not (run / CONFIG_FILE).is_file():
        raise CheckpointError(f"input_dir={str(composed.input_dir)!r} has no {CONFIG_FILE}: expected the directory "
                              f"of an earlier run")
    saved = OmegaConf.load(run / CONFIG_FILE)
    cfg = saved.copy()
    keys = override_keys(overrides)
    with open_dict(cfg):
        for key, deleted in keys:
            if deleted:
                _delete(cfg, key)
            else:
                OmegaConf.update(cfg, key, OmegaConf.select(composed, key, default=None, throw_on_missing=False),
                                 merge=False, force_add=True)
        cfg.input_dir = str(run)
        cfg.resumed_from = str(run)
    _refuse_changes(saved, cfg, run)
    if keys:
        changes = ", ".join(f"~{key}" if deleted else key for key, deleted in keys)
        logger.info(f"resuming {run} with its saved config and these changes: {changes}")
    return cfg


def _delete(cfg: DictConfig, key: str) -> None:
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if node is not None and leaf in node:
        del node[leaf]


def _refuse_changes(saved: DictConfig, cfg: DictConfig, run: Path) -> None:
    if OmegaConf.select(cfg, "resume.allow_changes", default=False):
        return
    for key, what in PROTECTED.items():
        before, after = OmegaConf.select(saved, key, default=None), OmegaConf.select(cfg, key, default=None)
        plain = [OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v for v in (before, after)]
        if plain[0] != plain[1]:
            raise ConfigError(f"input_dir={str(run)!r} holds a run of {what} {plain[0]}, but this run's {what} "
                              f"is {plain[1]} ({key} changed): the checkpoint belongs to the saved one. Start a new "
                              f"run, or set resume.allow_changes=true to load the weights anyway")


def carry_over(input_dir: Path, run_dir: Optional[Path]) -> None:
    """The resumed run starts with the earlier run's best checkpoint, stats rows and TensorBoard events, so
    its history, model selection and learning curve continue rather than restart."""
    if run_dir is None:
        return
    for relative in CARRIED_OVER:
        source = input_dir / relative
        if source.is_file():
            atomic_write(run_dir / relative, lambda tmp, source=source: shutil.copyfile(source, tmp))
    for events in input_dir.glob("events.out.tfevents.*"):
        atomic_write(run_dir / events.name, lambda tmp, events=events: shutil.copyfile(events, tmp))
