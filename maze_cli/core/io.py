"""Atomic file writes: a crash or a full disk never leaves a half-written file in place of a good one."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Union


def atomic_write(path: Union[str, Path], write: Callable[[str], None]) -> None:
    """Write via ``write(tmp_path)`` into a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
