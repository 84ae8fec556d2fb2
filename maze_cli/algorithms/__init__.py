"""Algorithms: each reads top to bottom from a rollout to losses and a gradient step; configs and shared maths.

The algorithm classes live in their modules (``maze_cli.algorithms.a2c.A2C``, ...); this package imports
nothing, so that validating an ``algorithm`` config (:mod:`maze_cli.algorithms.config`) does not import torch.
"""
