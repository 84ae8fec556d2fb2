"""Foundation: errors, validation helpers, atomic file writes, dotted imports. Imports nothing of maze_cli."""
from maze_cli.core.errors import POSITIVE_INT, ConfigError, check
from maze_cli.core.imports import import_dotted
from maze_cli.core.io import WriteError, atomic_write

__all__ = ["POSITIVE_INT", "ConfigError", "WriteError", "atomic_write", "check", "import_dotted"]
