"""Runners decide where envs step: in this process (dev), in worker processes (local), on Ray (ray)."""
from maze_cli.runners.local import DevRunner, LocalRunner, Runner

__all__ = ["DevRunner", "LocalRunner", "Runner"]
