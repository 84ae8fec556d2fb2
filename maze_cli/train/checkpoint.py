"""Checkpoints: tensors and plain data only, written atomically, loaded without unpickling code."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Union

import torch
from torch import nn

from maze_cli.core.io import atomic_write


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, unsafe or does not fit the model."""


def save_checkpoint(path: Union[str, Path], state: Dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Union[str, Path]) -> Dict[str, Any]:
    """Loads with ``weights_only=True``: a checkpoint holding other pickled objects is refused."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"cannot load checkpoint {path}: it is corrupted, truncated or holds objects "
                              f"other than tensors and plain data ({first_line})") from None


def load_state_strict(module: nn.Module, state: Dict[str, torch.Tensor], what: str) -> None:
    """``load_state_dict`` whose error names the first mismatching parameter and both shapes."""
    own = module.state_dict()
    for name, tensor in own.items():
        if name not in state:
            raise CheckpointError(f"{what}: checkpoint has no parameter {name!r} (expected shape "
                                  f"{tuple(tensor.shape)}); was it trained with different networks?")
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise CheckpointError(f"{what}: parameter {name!r} has shape {tuple(state[name].shape)} in the "
                                  f"checkpoint but {tuple(tensor.shape)} in the configured network")
    extra = [name for name in state if name not in own]
    if extra:
        raise CheckpointError(f"{what}: checkpoint has parameter {extra[0]!r} that the configured network "
                              f"lacks; was it trained with different networks?")
    module.load_state_dict(state)
