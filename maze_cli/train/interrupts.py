"""Stopping a run cleanly on SIGINT / SIGTERM and on updates that went non-finite."""
from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Dict, Optional


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; the run saved ``checkpoints/last.pt`` before raising this.

    A ``KeyboardInterrupt`` so that Python callers see what Ctrl-C always gives them.
    """

    def __init__(self, signum: int):
        super().__init__(f"training interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


class NonFiniteTrainingError(RuntimeError):
    """Too many updates in a row had a non-finite loss or gradient."""


class StopRequest:
    """Context manager that turns SIGINT/SIGTERM into a flag the training loop (or a sweep) polls.

    The loop finishes the current update, saves, and raises :class:`TrainingInterrupted`.
    A second SIGINT interrupts at once. Requests nest: a sweep holds one around its jobs, and a job's
    training loop inherits a stop the sweep received while the job was being built and passes its own
    on, so Ctrl-C is neither lost between two steps nor swallowed by library code that catches
    ``KeyboardInterrupt``. Outside the main thread signals cannot be caught, so nothing is installed there.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self.outer: Optional[StopRequest] = None
        self._previous: Dict[int, object] = {}

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        if self.outer is not None and self.outer.signum is None:
            self.outer.signum = signum

    def check(self) -> None:
        if self.signum is not None:
            raise TrainingInterrupted(self.signum)

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            self.outer = active_stop_request()
            if self.outer is not None:
                self.signum = self.outer.signum
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if exc_type is None:
            self.check()  # a signal after the loop's last check still stops the run


def active_stop_request() -> Optional[StopRequest]:
    """The :class:`StopRequest` whose handler currently receives SIGINT, if any."""
    handler = signal.getsignal(signal.SIGINT)
    owner = getattr(handler, "__self__", None)
    return owner if isinstance(owner, StopRequest) else None
