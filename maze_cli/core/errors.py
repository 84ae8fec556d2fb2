"""The error every bad config value raises, and the helpers that raise it with one clear line."""
from __future__ import annotations

from typing import Any, Callable


class ConfigError(ValueError):
    """A config value is out of range or of the wrong kind; the message names key, value and what is allowed."""


def check(cond: bool, key: str, value: Any, allowed: str) -> None:
    """Raises ``ConfigError("key=value is invalid: expected allowed")`` unless ``cond``."""
    if not cond:
        raise ConfigError(f"{key}={value!r} is invalid: expected {allowed}")


POSITIVE_INT: Callable[[Any], bool] = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1
