"""What the training loop needs of an algorithm: :class:`Algorithm`.

The loop (``maze_cli.train.loop``) asks the runner's collector for ``rollout_steps`` env steps per env,
hands the rollout to :meth:`Algorithm.update`, and checkpoints :meth:`Algorithm.state_dict`. Nothing
in the loop is on-policy: an off-policy algorithm keeps its replay buffer inside, adds each rollout
to it and takes as many gradient steps as it likes in ``update`` (see ``docs/algorithms.md``).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Protocol

import torch
from torch import nn

from maze_cli.algorithms.config import AlgorithmConfig
from maze_cli.train.batch import RolloutBatch


class Algorithm(Protocol):
    """An update rule with its optimiser state.

    :attr config: its hyper-parameters (the loop reads n_epochs, epoch_length, evaluation settings).
    :attr policy: the policy the collector acts with and model selection keeps.
    :attr critic: the state-value critic the collector records values with (``None``: no values).
    :attr rollout_steps: env steps per env the collector gathers before each update.
    :attr store_next_observations: the collector records every step's next observation (replay).
    """

    config: AlgorithmConfig
    policy: nn.Module
    critic: Optional[nn.Module]
    rollout_steps: int
    store_next_observations: bool

    def update(self, batch: RolloutBatch, epoch: int, progress: float) -> Dict[str, float]:
        """Learn from one rollout; returns ``losses/...`` statistics.

        :param epoch: epochs completed before this update (for burn-in schedules).
        :param progress: fraction of the planned updates done before this one (for decaying schedules).
        """

    def models(self) -> Dict[str, nn.Module]:
        """The trained modules by name (``policy``, ``critic``, ...): checkpointed and model-selected."""

    def state_dict(self) -> Dict[str, Any]:
        """Optimiser and other non-model state that resume needs."""

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores :meth:`state_dict`."""

    # Optional: ``observation_statistics_from_rollouts = False`` keeps the loop from feeding rollouts to the
    # observation normaliser (behavioural cloning fits it on its dataset).
    # Optional: ``save_side_state(checkpoint_dir)`` / ``load_side_state(checkpoint_dir)`` keep state too large
    # for every checkpoint (SAC's replay buffer) in files of its own beside ``last.pt``.


def module_device(module: nn.Module) -> torch.device:
    """The device a module's parameters live on (CPU for a module without parameters)."""
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")
