"""The default perception: one encoder per observation key, chosen from its space, then an MLP trunk.

===========================  ==============================================================
space of the key             encoder
===========================  ==============================================================
Box with 3 dims (an image)   :class:`ImageEncoder` (convolutions; uint8 scaled to [0, 1])
Box, any other shape         flattened floats
Discrete / MultiDiscrete     one-hot (``discrete_encoding: one_hot``) or a learned embedding
MultiBinary                  floats
Text, Graph, Sequence, ...   build-time error naming the key (drop it with ``ignore_keys``)
===========================  ==============================================================

Keys named ``action_mask`` or ``<head>_mask`` are action masks: the policy applies them to the
logits; the networks do not read them unless ``read_masks`` is set.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Sequence

import gymnasium as gym
import torch
from torch import nn

from maze_cli.models.encoders import (Activation, EmbeddingEncoder, FlatEncoder, ImageEncoder, activation_class,
                                      is_image, layers_of, orthogonal, run_layer)
from maze_cli.models.observations import SUPPORTED_SPACES, converted_shape, unsupported_space_message

MASK_KEY = "action_mask"
MASK_SUFFIX = "_mask"


def is_mask_key(key: str) -> bool:
    """Keys the default networks leave to the policy's action masking."""
    return key == MASK_KEY or key.endswith(MASK_SUFFIX)


def _encoder(key: str, space: gym.Space, shape: Sequence[int], image: Mapping[str, Any],
             discrete_encoding: str, embedding_dim: int) -> nn.Module:
    if is_image(space):
        return ImageEncoder(key, space, **dict(image))
    if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete)) and discrete_encoding == "embedding":
        return EmbeddingEncoder(int(shape[0]), embedding_dim)
    return FlatEncoder(shape)


class Perception(nn.Module):
    """Encodes every read key, concatenates the encodings (sorted by key) and applies an MLP trunk.

    :param obs_shapes: ``{key: converted shape}`` (batch dims excluded).
    :param obs_spaces: ``{key: env space}``; without it every key is read as flat floats.
    :param hidden_units: widths of the trunk's hidden layers.
    :param activation: trunk activation class or dotted path.
    :param ignore_keys: observation keys the network does not read.
    :param read_masks: also read action-mask keys (``action_mask``, ``<head>_mask``).
    :param image: settings of :class:`ImageEncoder` (``channels``, ``kernel_sizes``, ``strides``, ...).
    :param discrete_encoding: ``one_hot`` or ``embedding`` for Discrete/MultiDiscrete keys.
    :param embedding_dim: width of the embedding.
    """

    def __init__(self, obs_shapes: Mapping[str, Sequence[int]], obs_spaces: Optional[Mapping[str, gym.Space]] = None,
                 hidden_units: Sequence[int] = (64, 64), activation: Activation = "torch.nn.Tanh",
                 ignore_keys: Sequence[str] = (), read_masks: bool = False,
                 image: Optional[Mapping[str, Any]] = None, discrete_encoding: str = "one_hot",
                 embedding_dim: int = 16):
        super().__init__()
        if discrete_encoding not in ("one_hot", "embedding"):
            raise ValueError(f"networks.discrete_encoding={discrete_encoding!r}: expected 'one_hot' or 'embedding'")
        spaces = dict(obs_spaces or {})
        known = set(obs_shapes) | set(spaces)
        unknown = sorted(set(ignore_keys) - known)
        if unknown:
            raise ValueError(f"networks.ignore_keys names {unknown}, which are not observation keys "
                             f"(the keys are {sorted(known)})")
        for key, space in spaces.items():
            if key not in ignore_keys and not isinstance(space, SUPPORTED_SPACES):
                raise ValueError(unsupported_space_message(key, space))
        self.in_keys = sorted(key for key in obs_shapes if key not in ignore_keys
                              and (read_masks or not is_mask_key(key)))
        if not self.in_keys:
            raise ValueError(f"networks: no observation key left to read (keys {sorted(known)}, ignore_keys "
                             f"{list(ignore_keys)}, mask keys are left out unless read_masks is set)")
        # A list in in_keys order: observation keys may clash with ModuleDict's attributes ("items", "keys").
        self.encoders = nn.ModuleList([
            _encoder(key, spaces.get(key, gym.spaces.Box(-1, 1, tuple(obs_shapes[key]))),
                     converted_shape(spaces[key]) if key in spaces else tuple(obs_shapes[key]),
                     image or {}, discrete_encoding, embedding_dim)
            for key in self.in_keys])
        width = sum(encoder.out_features for encoder in self.encoders)
        layers = []
        act = activation_class(activation)
        for units in hidden_units:
            layers += [orthogonal(nn.Linear(width, int(units)), math.sqrt(2)), act()]
            width = int(units)
        self.trunk = nn.Sequential(*layers)
        self.out_features = width

    def features(self, x_dict: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Trunk output for a ``(batch, ...)`` input dict (wrap in TorchModelBlock for other batch shapes).

        Encoders and trunk layers run by their ``forward``, not through ``nn.Module.__call__`` (whose hook
        dispatch was a third of the network's time per acting step at 4 envs), so hooks belong on the network
        itself, not on its layers; they are read with :func:`layers_of` for the same reason.
        """
        encoders = layers_of(self, "encoders").values()
        encoded = [encoder.forward(x_dict[key]) for key, encoder in zip(self.in_keys, encoders)]
        # the cat also copies, which training needs: observations stored under inference mode may not be saved
        # for backward as they are
        x = encoded[0] if len(encoded) == 1 and not torch.is_grad_enabled() else torch.cat(encoded, dim=-1)
        for layer in layers_of(self, "trunk").values():
            x = run_layer(layer, x)
        return x

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.features(x_dict)
