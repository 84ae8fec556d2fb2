"""Training: rollouts, the training loop and its callbacks, evaluation, model selection and checkpoints.

Import from the modules (``maze_cli.train.loop``, ...): importing this package stays cheap (no torch).
"""
