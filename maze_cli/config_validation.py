"""Instantiating config nodes with one clear error per bad key, type or value."""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Dict, Mapping

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from maze_cli.core.imports import import_dotted
from maze_cli.core.errors import ConfigError

RESERVED = ("_target_", "_recursive_", "_convert_", "_partial_", "_args_")


def target_of(node: Mapping[str, Any], group: str) -> Any:
    if node.get("_python_object_") and not node.get("_target_"):
        raise ConfigError(f"{group}: this run was built in Python with {node['_python_object_']}, which cannot be "
                          f"imported (a lambda, a local function or an instance): rebuild the run in Python "
                          f"(RunContext({group}=...)), or pass an importable function or class so that "
                          f"config.yaml records it as _target_")
    if "_target_" not in node or not node["_target_"]:
        raise ConfigError(f"{group}: missing '_target_' (the dotted path of the class or function to build)")
    try:
        return import_dotted(str(node["_target_"]))
    except ValueError as err:
        raise ConfigError(f"{group}._target_: {err}") from None


def _params(node: Mapping[str, Any]) -> Dict[str, Any]:
    container = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    return {k: v for k, v in container.items() if k not in RESERVED}


def validated_dataclass(node: Mapping[str, Any], group: str) -> Any:
    """Instantiate a dataclass target through its OmegaConf schema: types, unknown keys, ranges."""
    cls = target_of(node, group)
    if not dataclasses.is_dataclass(cls):
        raise ConfigError(f"{group}._target_={node['_target_']!r}: expected a config dataclass such as "
                          f"maze_cli.A2CAlgorithmConfig")
    params = _params(node)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(cls), params)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        value = params.get(key.split(".")[0], None) if key != "?" else None
        allowed = [f.name for f in dataclasses.fields(cls)]
        reason = str(err).splitlines()[0]
        if key.split(".")[0] not in allowed:
            raise ConfigError(f"{group}.{key}: unknown key; expected one of {allowed}") from None
        raise ConfigError(f"{group}.{key}={value!r} is invalid: {reason}") from None
    return OmegaConf.to_object(merged)


def check_keys(node: Mapping[str, Any], group: str, extra_args: tuple = ()) -> None:
    """Unknown keys of a class/function target are reported with the accepted ones."""
    target = target_of(node, group)
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [name for name in params if name not in extra_args and name != "self"]
    for key in _params(node):
        if key not in params:
            raise ConfigError(f"{group}.{key}: unknown key for {node['_target_']}; expected one of {accepted}")


def instantiate_node(node: Mapping[str, Any], group: str, **kwargs: Any) -> Any:
    """Instantiate ``node`` (keys checked first) with space-dependent ``kwargs``; errors name the group."""
    target = target_of(node, group)
    if dataclasses.is_dataclass(target):
        return validated_dataclass(node, group)
    check_keys(node, group, tuple(kwargs))
    try:
        return instantiate(node, **kwargs, _recursive_=False, _convert_="all")
    except ConfigError:
        raise
    except Exception as err:
        cause = err
        while cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, (ValueError, TypeError, ConfigError, ImportError)):
            raise ConfigError(f"{group}: {cause}") from None
        raise
