"""Python front door: RunContext."""
from maze_cli.api.run_context import RunContext

__all__ = ["RunContext"]
