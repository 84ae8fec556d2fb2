"""Atomic file writes: a crash or a full disk never leaves a half-written file in place of a good one."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Union


class WriteError(OSError):
    """A run artefact could not be written; the message names the file and the cause. The file's
    previous version (if any) is intact."""


def atomic_write(path: Union[str, Path], write: Callable[[str], None]) -> None:
    """Write via ``write(tmp_path)`` into a temporary file beside ``path``, then rename it over ``path``.

    A failure (a full disk, a lost mount) raises :class:`WriteError` naming ``path`` and leaves the
    previous ``path`` as it was.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        write(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            cause = f"[Errno {err.errno}] {err.strerror}" if err.strerror else str(err)
            raise WriteError(f"could not write {path}: {cause}") from err
        raise
