"""Default policy and value networks: the default perception (see :mod:`maze_cli.models.perception`) and heads.

Both take ``obs_shapes`` (``{key: converted shape}``) and optionally ``obs_spaces`` (``{key: env
space}``, which the composers pass): without the spaces every key is read as flat floats, as
networks built by hand from shapes alone expect.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from maze_cli.models.encoders import Activation, layers_of, orthogonal, run_layer
from maze_cli.models.perception import Perception


def _shaped(logits: torch.Tensor, shape: tuple) -> torch.Tensor:
    """A head's ``(batch, prod(shape))`` output as ``(batch, *shape)``; flat heads as they are (no view op)."""
    return logits if len(shape) == 1 else logits.reshape((logits.shape[0],) + shape)


class DefaultPolicyNet(Perception):
    """Perception trunk with one linear head per action head, producing the logits the distributions need.

    :param obs_shapes: ``{observation key: shape}``.
    :param action_logit_shapes: ``{action head: logits shape}`` from the DistributionMapper.
    :param perception: further :class:`~maze_cli.models.perception.Perception` settings
        (``obs_spaces``, ``ignore_keys``, ``read_masks``, ``image``, ``discrete_encoding``, ``embedding_dim``).
    """

    def __init__(self, obs_shapes: Dict[str, Sequence[int]], action_logit_shapes: Dict[str, Sequence[int]],
                 hidden_units: Sequence[int] = (64, 64), activation: Activation = "torch.nn.Tanh",
                 obs_spaces: Optional[Mapping[str, gym.Space]] = None, **perception: Any):
        super().__init__(obs_shapes, obs_spaces, hidden_units, activation, **perception)
        self.logit_shapes = {head: tuple(int(d) for d in shape) for head, shape in action_logit_shapes.items()}
        # a list in logit_shapes order: head names may clash with ModuleDict's attributes ("keys", "items")
        self.heads = nn.ModuleList([orthogonal(nn.Linear(self.out_features, int(np.prod(shape))), 0.01)
                                    for shape in self.logit_shapes.values()])

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return self.logits_from_features(self.features(x_dict))

    def logits_from_features(self, h: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The heads' logits from the trunk's features (gSDE reads the same features, see the policy)."""
        return {head: _shaped(run_layer(layer, h), shape)
                for (head, shape), layer in zip(self.logit_shapes.items(), layers_of(self, "heads").values())}


class DefaultValueNet(Perception):
    """Perception trunk with one linear output: ``{"value": (batch, 1)}``; settings as :class:`DefaultPolicyNet`."""

    def __init__(self, obs_shapes: Dict[str, Sequence[int]], hidden_units: Sequence[int] = (64, 64),
                 activation: Activation = "torch.nn.Tanh", obs_spaces: Optional[Mapping[str, gym.Space]] = None,
                 **perception: Any):
        super().__init__(obs_shapes, obs_spaces, hidden_units, activation, **perception)
        self.value_head = orthogonal(nn.Linear(self.out_features, 1), 1.0)

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"value": run_layer(self.value_head, self.features(x_dict))}
