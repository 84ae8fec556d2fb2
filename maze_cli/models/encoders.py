"""Per-key encoders of the default perception: images through convolutions, everything else as floats."""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple, Union

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from maze_cli.core.imports import import_dotted

Activation = Union[str, type]


def activation_class(activation: Activation) -> type:
    """An ``nn.Module`` class from itself or its dotted path."""
    cls = import_dotted(activation) if isinstance(activation, str) else activation
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"activation must name a torch.nn.Module class (e.g. 'torch.nn.Tanh'), got {activation!r}")
    return cls


def orthogonal(layer: nn.Module, gain: float) -> nn.Module:
    """Orthogonal weights, zero bias: the initialisation PPO implementations rely on."""
    nn.init.orthogonal_(layer.weight, gain=gain)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def run_layer(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``layer.forward(x)``; a plain ``nn.Linear`` reads its weights from ``_parameters`` directly.

    ``Linear.forward``'s two attribute reads go through ``Module.__getattr__``: a third of a small layer's time at
    acting batch sizes. ``_parameters`` is where ``torch.func.functional_call`` puts substituted weights, too.
    """
    if type(layer) is nn.Linear:
        params = layer._parameters
        return nn.functional.linear(x, params["weight"], params["bias"])
    return layer.forward(x)


def layers_of(module: nn.Module, name: str) -> Dict[str, nn.Module]:
    """``{key: layer}`` of the container (ModuleList, Sequential, ModuleDict) registered as ``module.<name>``.

    Read from ``_modules`` directly: ``Module.__getattr__`` and the container's ``__iter__`` or ``__getitem__``
    cost about 1 µs each per acting step, as much as a small layer's matmul.
    """
    return module._modules[name]._modules


def is_image(space: gym.Space) -> bool:
    """A Box with three dims: height, width and channels in either order."""
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 3


def channels_last(shape: Tuple[int, ...], setting: Optional[bool]) -> bool:
    """Whether an image's channels are its last dim: the setting if given, else the smaller end dim (ties: first)."""
    if setting is not None:
        return bool(setting)
    return shape[-1] < shape[0]


def image_scale(space: gym.spaces.Box, setting: Optional[float]) -> float:
    """``setting`` if given; 1/255 for uint8 images (so pixels land in [0, 1]); 1 otherwise."""
    if setting is not None:
        return float(setting)
    return 1.0 / 255.0 if space.dtype == np.uint8 else 1.0


NATURE_STACK = {"channels": (32, 64, 64), "kernel_sizes": (8, 4, 3), "strides": (4, 2, 1)}
"""The default conv layers (Mnih et al. 2015) for images of at least :data:`NATURE_MIN_SIZE` pixels a side."""
NATURE_MIN_SIZE = 36
GRID_STACK = {"channels": (16, 32, 64), "kernel_sizes": (2, 2, 2), "strides": (1, 1, 1)}
"""The default for smaller images (grid worlds such as MiniGrid's 7x7 view)."""


def default_stack(height: int, width: int) -> dict:
    """Conv layers for an image when none are configured: Nature-DQN, or the grid stack for small images."""
    return dict(NATURE_STACK if min(height, width) >= NATURE_MIN_SIZE else GRID_STACK)


class ImageEncoder(nn.Module):
    """Convolutions, then one dense layer: a Nature-DQN-like stack by default (see :func:`default_stack`).

    Reads ``(batch, H, W, C)`` or ``(batch, C, H, W)`` in any dtype and converts to float on the
    batch (``uint8`` storage stays ``uint8`` until here), multiplied by ``scale``.

    :param key: observation key (for error messages).
    :param space: the image's Box space.
    :param channels: output channels per conv layer (``None``: :func:`default_stack`, as the two below).
    :param kernel_sizes: kernel size per conv layer.
    :param strides: stride per conv layer.
    :param padding: padding per conv layer (0 if omitted).
    :param out_features: width of the dense layer after the convolutions (0: none, flatten only).
    :param activation: activation class or dotted path.
    :param channels_last: ``None`` detects it from the shape.
    :param scale: multiplies the input; ``None``: 1/255 for uint8, else 1.
    """

    def __init__(self, key: str, space: gym.spaces.Box, channels: Optional[Sequence[int]] = None,
                 kernel_sizes: Optional[Sequence[int]] = None, strides: Optional[Sequence[int]] = None,
                 padding: Optional[Sequence[int]] = None, out_features: int = 512,
                 activation: Activation = "torch.nn.ReLU", channels_last: Optional[bool] = None,
                 scale: Optional[float] = None):
        super().__init__()
        shape = tuple(int(d) for d in space.shape)
        self.channels_last = globals()["channels_last"](shape, channels_last)
        height, width = shape[:2] if self.channels_last else shape[1:]
        stack = default_stack(height, width)
        channels = stack["channels"] if channels is None else channels
        kernel_sizes = stack["kernel_sizes"] if kernel_sizes is None else kernel_sizes
        strides = stack["strides"] if strides is None else strides
        padding = list(padding) if padding is not None else [0] * len(channels)
        if not len(channels) == len(kernel_sizes) == len(strides) == len(padding):
            raise ValueError(f"image encoder for {key!r}: channels {list(channels)}, kernel_sizes {list(kernel_sizes)}, "
                             f"strides {list(strides)} and padding {padding} need one entry per conv layer")
        self.scale = image_scale(space, scale)
        in_channels = shape[-1] if self.channels_last else shape[0]
        act = activation_class(activation)
        layers = []
        for out_ch, kernel, stride, pad in zip(channels, kernel_sizes, strides, padding):
            layers += [orthogonal(nn.Conv2d(in_channels, int(out_ch), int(kernel), int(stride), int(pad)),
                                  math.sqrt(2)), act()]
            in_channels = int(out_ch)
        self.convs = nn.Sequential(*layers, nn.Flatten())
        probe = torch.zeros((1,) + (shape if not self.channels_last else (shape[2], shape[0], shape[1])))
        try:
            flat = self.convs(probe).shape[1]
        except RuntimeError as err:
            raise ValueError(f"image encoder for {key!r}: the conv layers (kernel_sizes {list(kernel_sizes)}, strides "
                             f"{list(strides)}) do not fit an image of shape {shape} ({err}); set smaller "
                             f"policy.networks.image.kernel_sizes / strides") from None
        self.dense = nn.Sequential(orthogonal(nn.Linear(flat, int(out_features)), math.sqrt(2)), act()) \
            if out_features else nn.Identity()
        self.out_features = int(out_features) if out_features else flat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if self.scale != 1.0:
            x = x * self.scale
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        return self.dense(self.convs(x))


class FlatEncoder(nn.Module):
    """Flattens a key into floats: vectors, one-hot discrete keys, MultiBinary."""

    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.out_features = int(np.prod(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and x.dtype == torch.float32:  # a float vector already: no view op (acting's usual case)
            return x
        return x.reshape(x.shape[0], -1).float()


class EmbeddingEncoder(nn.Module):
    """A learned embedding of a one-hot (Discrete) or concatenated one-hot (MultiDiscrete) key.

    A bias-free linear map of a one-hot is exactly an embedding-table lookup (of the sum of the
    components' embeddings for MultiDiscrete), so it reads the converter's one-hot directly.
    """

    def __init__(self, n_one_hot: int, embedding_dim: int):
        super().__init__()
        self.embed = nn.Linear(n_one_hot, int(embedding_dim), bias=False)
        self.out_features = int(embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x.float())
