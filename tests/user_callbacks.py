"""A stop rule and a logger written outside maze_cli, added to a run through the ``callbacks`` config."""
from typing import Any, Dict, List


class StopAfterEnvSteps:
    """Stops training once ``env_steps`` env steps were taken."""

    def __init__(self, env_steps: int):
        self.env_steps = env_steps

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if loop.env_steps >= self.env_steps:
            loop.request_stop(f"{loop.env_steps} env steps >= {self.env_steps}")


class ListLogger:
    """Keeps every epoch's statistics in a class-level list (so a test can read them back)."""

    rows: List[Dict[str, float]] = []
    events: List[str] = []

    def on_train_start(self, loop: Any) -> None:
        ListLogger.events.append("start")

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        ListLogger.rows.append({"epoch": loop.epoch, "env_steps": loop.env_steps, **stats})

    def on_train_end(self, loop: Any) -> None:
        ListLogger.events.append("end")


class NotACallback:
    """Has no hook: the config must refuse it."""
