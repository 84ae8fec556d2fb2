"""Nested configs as flat ``group.key.subkey`` names: what overrides and trackers' parameters are keyed by."""
from __future__ import annotations

from typing import Any, Dict, Mapping


def flatten_keys(node: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"algorithm": {"lr": 0.0005}}`` as ``{"algorithm.lr": 0.0005}``, each name after ``prefix`` (e.g.
    ``"policy."``); lists and empty mappings are values."""
    flat: Dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_keys(value, name + "."))
        else:
            flat[name] = value
    return flat
