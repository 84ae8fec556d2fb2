"""Example controllers for the envs maze_cli ships, e.g. to record for behavioural cloning (docs/imitation.md)."""
