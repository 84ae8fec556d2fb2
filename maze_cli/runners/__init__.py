"""Runners decide where envs step: in this process (dev), in worker processes (local), on Ray (ray)."""
from maze_cli.runners.base import Collector, Runner
from maze_cli.runners.local import DevRunner, LocalRunner
from maze_cli.runners.ray import RayRunner

__all__ = ["Collector", "DevRunner", "LocalRunner", "RayRunner", "Runner"]
