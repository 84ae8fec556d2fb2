"""``maze-run --help``: every config group with its presets, one line each (the YAML's first comment)."""
from __future__ import annotations

from importlib import resources
import re
from typing import Any, List, Mapping

from omegaconf import OmegaConf

GROUP_ORDER = ("env", "algorithm", "policy", "critic", "runner", "wrappers", "normalization", "logger", "experiment")

USAGE = """maze-run: train reinforcement-learning agents from YAML presets.

Usage:
  maze-run [group=preset ...] [key=value ...]        one training run
  maze-run --multirun key=a,b [key2=c,d]             a sweep (one run directory per job)
  maze-run input_dir=<run dir> [...]                 resume a run from its last checkpoint
  maze-run -cn rollout input_dir=<run dir> n_episodes=10 [render=true | record=true]
  maze-run -cn rollout env=<preset> policy._target_=mypkg.MyController record=true   record a controller
  maze-run -cn export input_dir=<run dir> [format=onnx]   the policy for serving (docs/export.md)
  maze-run --cfg job [overrides]                     print the composed config and exit
"""


def _first_comment(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not stripped.startswith("# @package"):
            return stripped.lstrip("#").strip()
    return ""


def group_lines() -> List[str]:
    conf = resources.files("maze_cli.conf")
    lines: List[str] = []
    for group in GROUP_ORDER:
        directory = conf / group
        if not directory.is_dir():
            continue
        presets = sorted(p for p in directory.iterdir() if p.name.endswith(".yaml"))
        if not presets:
            continue
        lines.append(f"  {group}:")
        for preset in presets:
            lines.append(f"    {preset.name[:-5]:<22} {_first_comment(preset.read_text())}")
    return lines


def help_text() -> str:
    """The template Hydra prints for ``--help`` ($FLAGS_HELP is Hydra's own flag list)."""
    body = "\n".join(group_lines()).replace("$", "$$")
    return (f"{USAGE.replace('$', '$$')}\nConfig groups (choose with group=preset; experiment with +experiment=name):\n"
            f"{body}\n\nDefaults: env=cartpole algorithm=a2c policy=default critic=shared runner=dev wrappers=none "
            f"normalization=none\n"
            f"Every run writes outputs/<env>-<algorithm>-<runner>/<timestamp>/ (config.yaml, stats.csv, "
            f"TensorBoard events, checkpoints/, maze_cli.log, learning_curve.png).\n\n$FLAGS_HELP")


def env_label(env: Any, preset: str) -> str:
    """What ran, for the run directory's name: the preset, unless its target was replaced (the new target's
    name), or a gymnasium id for the generic ``gym`` preset, or a Python object's name."""
    node = OmegaConf.to_container(env) if OmegaConf.is_config(env) else env
    label = preset
    if isinstance(node, Mapping):
        preset_file = resources.files("maze_cli.conf") / "env" / f"{preset}.yaml"
        preset_target = OmegaConf.load(str(preset_file)).get("_target_") if preset_file.is_file() else None
        if node.get("_python_object_"):
            label = str(node["_python_object_"]).rsplit(".", 1)[-1]
        elif node.get("_target_") and node["_target_"] != preset_target:
            label = str(node["_target_"]).rsplit(".", 1)[-1]
        elif preset == "gym" and node.get("name"):
            label = str(node["name"])
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or preset


def run_name(env: Any, env_preset: str, algorithm: str, runner: str) -> str:
    """The name of a run's directory under ``outputs/`` (the CLI's and RunContext's alike)."""
    return f"{env_label(env, env_preset)}-{algorithm}-{runner}"


def register_resolver() -> None:
    """``${maze_help:}`` (the --help text) and ``${maze_run_name:env,preset,algorithm,runner}`` for the YAML."""
    if not OmegaConf.has_resolver("maze_help"):
        OmegaConf.register_new_resolver("maze_help", help_text)
    if not OmegaConf.has_resolver("maze_run_name"):
        OmegaConf.register_new_resolver("maze_run_name", run_name)
