"""``runner.on_worker_failure`` for the worker pools the learner manages itself (IMPALA's actors, ES's workers)."""
from __future__ import annotations

import logging

logger = logging.getLogger("maze_cli")


class RestartBudget:
    """Decides whether a failed worker is replaced, and counts the replacements.

    :param restart_failed: ``on_worker_failure=restart``; otherwise every failure stops the run.
    :param max_restarts: replacements allowed over the pool's life.
    """

    def __init__(self, restart_failed: bool, max_restarts: int):
        self.restart_failed, self.max_restarts = restart_failed, max_restarts
        self.restarts = 0

    def spend(self, failure: Exception) -> None:
        """Counts one replacement for ``failure`` (and says so), or raises it when none is allowed."""
        if not self.restart_failed or self.restarts >= self.max_restarts:
            used = f" (runner.max_worker_restarts={self.max_restarts} restarts used)" if self.restart_failed else ""
            raise type(failure)(f"{failure}{used}; the run stops, its checkpoints are intact")
        self.restarts += 1
        logger.warning(f"{failure}; restarting it with fresh envs (restart {self.restarts} of {self.max_restarts})")
