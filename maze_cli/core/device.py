"""Torch devices by name: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto`` (a GPU when there is one)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, List

from maze_cli.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICE_PATTERN = re.compile(r"^(cpu|cuda|cuda:\d+|mps|auto)$")


def available_devices() -> List[str]:
    """The devices torch can use on this machine."""
    import torch  # here, not at the top: configs validate device names without importing torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str, key: str = "algorithm.device") -> "torch.device":
    """The torch device ``name`` stands for; one line naming it and the available ones if it is not there."""
    import torch

    if not isinstance(name, str) or not DEVICE_PATTERN.match(name):
        raise ConfigError(f"{key}={name!r} is invalid: expected one of 'cpu', 'cuda', 'cuda:N', 'mps', 'auto'")
    available = available_devices()
    if name == "auto":
        return torch.device("cuda" if "cuda" in available else "mps" if "mps" in available else "cpu")
    if name not in available:
        raise ConfigError(f"{key}={name!r} is not available on this machine: available devices: {available}")
    return torch.device(name)
