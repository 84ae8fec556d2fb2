"""``maze-run -cn export input_dir=<run>``: a finished run's policy written for serving."""
from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from maze_cli.core.errors import check
from maze_cli.envs.vector import actor_list
from maze_cli.core.imports import require
from maze_cli.export.formats import SUFFIXES, export_policy
from maze_cli.run_loading import load_run

logger = logging.getLogger("maze_cli")



def export(cfg: DictConfig, output_dir: Path) -> Path:
    """Exports every actor of the run ``cfg.input_dir`` (its ``cfg.checkpoint`` weights) into ``output_dir``."""
    check(cfg.format in SUFFIXES, "format", cfg.format, f"one of {list(SUFFIXES)}")
    if cfg.format == "onnx":
        require("onnx", "onnx", "format=onnx")  # torch's exporter writes the file with it; onnxruntime serves it
    _, components = load_run(cfg.input_dir, cfg.checkpoint)
    actors = actor_list(components.probe_env.get_wrapper_attr("agent_counts_dict"))
    policy = components.policy.cpu().eval()
    signature = export_policy(policy, actors, output_dir, str(cfg.input_dir), cfg.format)
    logger.info(f"exported {len(actors)} actor(s) of {cfg.input_dir} ({cfg.checkpoint} checkpoint) to {output_dir}; "
                f"inputs and outputs: {signature}")
    return signature
