"""Composing the packaged YAML presets with overrides, exactly as ``maze-run`` does."""
from __future__ import annotations

import inspect
from importlib import resources
from typing import Any, Dict, List, Mapping, Tuple

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from maze_cli.help import register_resolver
from maze_cli.core.errors import ConfigError
from maze_cli.core.imports import import_dotted

CONFIG_MODULE = "maze_cli.conf"
GROUPS = ("env", "algorithm", "policy", "critic", "runner", "wrappers", "normalization")


def override_value(value: Any) -> str:
    """A Python value in Hydra's override grammar (``0.001``, ``true``, ``null``, ``[1,2]``, ``'a b'``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{override_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if text.replace("_", "").replace(".", "").replace("-", "").replace("/", "").isalnum() \
        else "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def one_line_hydra_error(err: Exception) -> str:
    """Hydra's multi-line composition errors as one line, keeping the list of available presets."""
    raw = str(err).strip().splitlines()
    options: List[str] = []
    for index, line in enumerate(raw):
        if line.startswith("Available options"):
            for option in raw[index + 1:]:
                if not option.startswith("\t"):
                    break
                options.append(option.strip())
    details = [line.strip() for line in raw[1:4] if line.strip() and not line.startswith(("\t", "Available", "Config"))]
    if err.__cause__ is not None:  # e.g. "Key 'foo' is not in struct" behind "Could not override"
        details.append(str(err.__cause__).strip().splitlines()[0])
    message = " ".join([raw[0].strip()] + details) if raw else type(err).__name__
    return f"{message}; available: {', '.join(options)}" if options else message


def compose_config(overrides: List[str], config_name: str = "train") -> Tuple[DictConfig, Dict[str, str]]:
    """The composed config (without the ``hydra`` node) and the chosen preset per group."""
    register_resolver()
    was_initialized = GlobalHydra.instance().is_initialized()
    saved = GlobalHydra.instance().hydra if was_initialized else None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    except HydraException as err:
        raise ConfigError(one_line_hydra_error(err)) from None
    finally:
        GlobalHydra.instance().clear()
        if saved is not None:
            GlobalHydra.instance().initialize(saved)  # a RunContext inside a maze-run job
    choices = {k: v for k, v in OmegaConf.to_container(cfg.hydra.runtime.choices).items() if k in GROUPS}
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, choices


def drop_keys_of_replaced_targets(cfg: DictConfig, choices: Dict[str, str], overrides: List[str]) -> List[str]:
    """When ``env._target_`` was replaced, the keys the env preset brought that the new target does not take
    are dropped (so ``maze-run env._target_=mypkg.make_env`` needs no ``~env.name``); keys set on the command
    line are kept, so a wrong one still fails with the unknown-key message. Returns the dropped keys."""
    node, preset_name = cfg.get("env"), choices.get("env")
    preset_file = resources.files(CONFIG_MODULE) / "env" / f"{preset_name}.yaml"
    if not isinstance(node, DictConfig) or not preset_file.is_file():
        return []
    preset = OmegaConf.load(str(preset_file))
    if node.get("_target_") in (None, preset.get("_target_")):
        return []
    try:
        parameters = inspect.signature(import_dotted(str(node["_target_"]))).parameters
    except (ValueError, TypeError):
        return []  # an unknown target is reported by the instantiation with its own message
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    given = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    dropped = [key for key in preset if key != "_target_" and key in node and key not in parameters
               and f"env.{key}" not in given]
    with open_dict(cfg):
        for key in dropped:
            del cfg.env[key]
    return [f"env.{key}" for key in dropped]
