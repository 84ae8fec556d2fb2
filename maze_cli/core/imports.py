"""Dotted paths (``package.module.Name``) to objects, as configs name classes and functions."""
from __future__ import annotations

import importlib
from typing import Any


def import_dotted(path: str) -> Any:
    """``"package.module.Name"`` -> the object; the error names the path and what failed."""
    if not isinstance(path, str) or "." not in path:
        raise ValueError(f"expected a dotted path like 'package.module.Name', got {path!r}")
    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import {path!r}: {err}") from None


def require(module: str, extra: str, what: str = "") -> Any:
    """Imports an optional dependency, or raises one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{what or module} needs {module}, which is not installed: "
                          f"pip install \"maze_cli[{extra}]\"") from None
