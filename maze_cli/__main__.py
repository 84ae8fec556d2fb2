"""``python -m maze_cli`` is ``maze-run``."""
from maze_cli.cli import main

main()
