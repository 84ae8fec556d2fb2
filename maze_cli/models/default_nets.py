"""Default policy and value networks: an MLP over the flattened, concatenated observations."""
from __future__ import annotations

import math
from typing import Dict, Sequence, Union

import numpy as np
import torch
from torch import nn

from maze_cli.core.imports import import_dotted

Activation = Union[str, type]


def _activation(activation: Activation) -> type:
    cls = import_dotted(activation) if isinstance(activation, str) else activation
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"activation must name a torch.nn.Module class (e.g. 'torch.nn.Tanh'), got {activation!r}")
    return cls


def _orthogonal(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)
    return layer


class FlattenConcatMLP(nn.Module):
    """Flattens every input key, concatenates them (in sorted key order) and applies an MLP.

    :param obs_shapes: ``{key: shape}`` of the inputs (batch dims excluded).
    :param hidden_units: widths of the hidden layers.
    :param activation: activation class or its dotted path.
    """

    def __init__(self, obs_shapes: Dict[str, Sequence[int]], hidden_units: Sequence[int] = (64, 64),
                 activation: Activation = "torch.nn.Tanh"):
        super().__init__()
        self.in_keys = sorted(obs_shapes)
        self.in_dims = {key: int(np.prod(obs_shapes[key])) for key in self.in_keys}
        layers = []
        width = sum(self.in_dims.values())
        act = _activation(activation)
        for units in hidden_units:
            layers += [_orthogonal(nn.Linear(width, int(units)), math.sqrt(2)), act()]
            width = int(units)
        self.trunk = nn.Sequential(*layers)
        self.out_features = width

    def features(self, x_dict: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Trunk output for a ``(batch, ...)`` input dict (wrap in TorchModelBlock for other batch shapes)."""
        batch = x_dict[self.in_keys[0]].shape[0]
        return self.trunk(torch.cat([x_dict[key].reshape(batch, -1) for key in self.in_keys], dim=-1))


class DefaultPolicyNet(FlattenConcatMLP):
    """MLP trunk with one linear head per action head, producing the logits the distributions need.

    :param obs_shapes: ``{observation key: shape}``.
    :param action_logit_shapes: ``{action head: logits shape}`` from the DistributionMapper.
    """

    def __init__(self, obs_shapes: Dict[str, Sequence[int]], action_logit_shapes: Dict[str, Sequence[int]],
                 hidden_units: Sequence[int] = (64, 64), activation: Activation = "torch.nn.Tanh"):
        super().__init__(obs_shapes, hidden_units, activation)
        self.logit_shapes = {head: tuple(int(d) for d in shape) for head, shape in action_logit_shapes.items()}
        self.heads = nn.ModuleDict({
            head: _orthogonal(nn.Linear(self.out_features, int(np.prod(shape))), 0.01)
            for head, shape in self.logit_shapes.items()})

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        h = self.features(x_dict)
        return {head: layer(h).reshape((h.shape[0],) + self.logit_shapes[head])
                for head, layer in self.heads.items()}


class DefaultValueNet(FlattenConcatMLP):
    """MLP trunk with one linear output: ``{"value": (batch, 1)}``."""

    def __init__(self, obs_shapes: Dict[str, Sequence[int]], hidden_units: Sequence[int] = (64, 64),
                 activation: Activation = "torch.nn.Tanh"):
        super().__init__(obs_shapes, hidden_units, activation)
        self.value_head = _orthogonal(nn.Linear(self.out_features, 1), 1.0)

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"value": self.value_head(self.features(x_dict))}
