"""TorchModelBlock: lets a net written for ``(batch, features)`` inputs take any batch shape."""
from __future__ import annotations

from typing import Dict, List, Sequence, Union

import torch
from torch import nn

Shape = Sequence[int]



class TorchModelBlock(nn.Module):
    """Wraps a dict-in/dict-out net and normalises batch dimensions around it.

    The wrapped net sees each input with exactly ``in_num_dims`` dims (batch first);
    inputs with no batch dim gain one, inputs with several (e.g. time x envs) are
    flattened into one, and outputs get the caller's batch shape back.

    :param in_keys: input key(s) the net reads.
    :param out_keys: output key(s) the net writes.
    :param in_shapes: per-input shape without batch dims.
    :param in_num_dims: per-input number of dims the net expects, batch included.
    :param out_num_dims: per-output number of dims the net returns, batch included.
    :param net: the dict-in/dict-out module.
    """

    def __init__(self, in_keys: Union[str, List[str]], out_keys: Union[str, List[str]],
                 in_shapes: Union[Shape, List[Shape]], in_num_dims: Union[int, List[int]],
                 out_num_dims: Union[int, List[int]], net: nn.Module):
        super().__init__()
        self.in_keys = [in_keys] if isinstance(in_keys, str) else list(in_keys)
        self.out_keys = [out_keys] if isinstance(out_keys, str) else list(out_keys)
        n_in = len(self.in_keys)
        shapes = list(in_shapes) if n_in > 1 else [in_shapes]
        if n_in == 1 and isinstance(in_shapes, list) and in_shapes and isinstance(in_shapes[0], (list, tuple)):
            shapes = list(in_shapes)
        self.in_shapes = [tuple(int(d) for d in s) for s in shapes]
        self.in_num_dims = [int(d) for d in (in_num_dims if isinstance(in_num_dims, (list, tuple))
                                              else [in_num_dims] * n_in)]
        self.out_num_dims = [int(d) for d in (out_num_dims if isinstance(out_num_dims, (list, tuple))
                                               else [out_num_dims] * len(self.out_keys))]
        if not (len(self.in_shapes) == len(self.in_num_dims) == n_in):
            raise ValueError(f"TorchModelBlock: in_keys {self.in_keys}, in_shapes {self.in_shapes} and "
                             f"in_num_dims {self.in_num_dims} must have one entry per input")
        if len(self.out_num_dims) != len(self.out_keys):
            raise ValueError(f"TorchModelBlock: out_keys {self.out_keys} and out_num_dims {self.out_num_dims} "
                             f"must have one entry per output")
        self.net = net

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        first = x_dict[self.in_keys[0]]
        n_batch_dims = first.dim() - (self.in_num_dims[0] - 1)
        batch_shape = first.shape[:n_batch_dims]
        inputs = {}
        for key, num_dims in zip(self.in_keys, self.in_num_dims):
            x = x_dict[key]
            feature_shape = x.shape[x.dim() - (num_dims - 1):] if num_dims > 1 else ()
            inputs[key] = x.reshape((-1,) + tuple(feature_shape))
        out = self.net(inputs)
        result = {}
        for key, num_dims in zip(self.out_keys, self.out_num_dims):
            y = out[key]
            if y.dim() != num_dims:
                raise ValueError(f"TorchModelBlock: output {key!r} of {type(self.net).__name__} has "
                                 f"{y.dim()} dims, expected out_num_dims={num_dims}")
            result[key] = y.reshape(tuple(batch_shape) + tuple(y.shape[1:]))
        return result
