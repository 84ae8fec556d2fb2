"""Resolving the ``networks`` argument of the composers: instances or configs, list or dict."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn

NetKey = str


def is_config(value: Any) -> bool:
    """A mapping with ``_target_``: a network to instantiate once the spaces are known."""
    return isinstance(value, (Mapping, DictConfig)) and "_target_" in value


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value


def resolve_networks(networks: Any, keys: Sequence[NetKey], default: Mapping[str, Any],
                     kwargs_for: Callable[[NetKey], Dict[str, Any]], what: str) -> Dict[NetKey, nn.Module]:
    """One module per key in ``keys`` (e.g. ``"0"`` for sub-step 0, ``"1_0"`` for step 1 agent 0).

    :param networks: ``None`` (use ``default``), one config for all keys, a list in key order,
        or a dict ``{key: net}`` with int or str keys; entries are ``nn.Module`` or configs. In a
        dict, a sub-step key (``1``) also serves that sub-step's per-agent keys (``"1_0"``, ``"1_1"``)
        that have no entry of their own.
    :param default: config used when ``networks`` is None.
    :param kwargs_for: space-dependent constructor arguments for a key (``obs_shapes``, ...).
    :param what: ``"policy"`` or ``"critic"``, for error messages.
    """
    networks = _plain(networks)
    if networks is None:
        networks = dict(default)
    if is_config(networks) or isinstance(networks, nn.Module):
        if isinstance(networks, nn.Module) and len(keys) > 1:
            raise ValueError(f"{what}: one network instance cannot serve {len(keys)} sub-steps/agents "
                             f"{list(keys)}; pass one per key or a config")
        by_key = {key: networks for key in keys}
    elif isinstance(networks, (list, tuple)):
        if len(networks) != len(keys):
            raise ValueError(f"{what}: got {len(networks)} networks for {len(keys)} sub-steps/agents "
                             f"{list(keys)}: expected one per entry")
        by_key = dict(zip(keys, networks))
    elif isinstance(networks, Mapping):
        given = {str(k): v for k, v in networks.items()}
        by_key = {key: given.get(key, given.get(key.split("_")[0])) for key in keys}
        missing = [k for k, net in by_key.items() if net is None]
        extra = [k for k in given if k not in keys and not any(key.split("_")[0] == k for key in keys)]
        if missing or extra:
            raise ValueError(f"{what}: networks keys {sorted(given)} do not match the env's sub-steps/agents "
                             f"{list(keys)} (missing {missing}, unexpected {extra})")
        shared = [k for k in keys if isinstance(by_key[k], nn.Module) and
                  sum(by_key[other] is by_key[k] for other in keys) > 1]
        if shared:
            raise ValueError(f"{what}: one network instance cannot serve the sub-steps/agents {shared}; pass "
                             f"one instance per key or a config")
    else:
        raise TypeError(f"{what}: networks must be a list, a dict or a config, got {type(networks).__name__}")
    return {key: _build(net, kwargs_for(key), what, key) for key, net in by_key.items()}


OPTIONAL_KWARGS = ("obs_spaces", "action_dim", "n_actions")
"""Constructor arguments passed only to network classes that declare them (or take ``**kwargs``)."""


def _accepted(target: str, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """``kwargs`` without the optional ones the target's constructor does not take."""
    try:
        params = inspect.signature(get_class(target)).parameters
    except Exception:  # not a class (a factory function): let instantiate report what is wrong
        return {k: v for k, v in kwargs.items() if k not in OPTIONAL_KWARGS}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return {k: v for k, v in kwargs.items() if k not in OPTIONAL_KWARGS or k in params or takes_any}


def _build(net: Any, kwargs: Dict[str, Any], what: str, key: NetKey) -> nn.Module:
    if isinstance(net, nn.Module):
        return net
    if not is_config(net):
        raise TypeError(f"{what} network for {key!r}: expected an nn.Module or a config with '_target_', "
                        f"got {type(net).__name__}")
    kwargs = _accepted(net["_target_"], kwargs)
    try:
        module = instantiate(dict(net), **kwargs, _convert_="all")
    except Exception as err:  # hydra wraps the real cause; keep the message short and specific
        cause = err.__cause__ or err
        raise ValueError(f"{what} network for {key!r}: cannot build {net['_target_']!r} with "
                         f"{sorted(kwargs)}: {type(cause).__name__}: {cause}") from None
    if not isinstance(module, nn.Module):
        raise TypeError(f"{what} network for {key!r}: {net['_target_']!r} returned "
                        f"{type(module).__name__}, expected a torch.nn.Module")
    return module


def optional_list(value: Optional[Sequence[int]]) -> List[int]:
    return [int(v) for v in (_plain(value) or [])]
