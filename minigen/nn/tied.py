"""A decoder layer that reuses an encoder's weight, transposed: tied weights.

An autoencoder with tied weights decodes with the transpose of its encoder's matrix. In
PyTorch's layout the encoder computes a = x Wᵀ + b with W of shape (out, in), so the tied
decoder computes x̂ = h W + b′ (Vincent et al., 2008; Bengio et al., 2007). The weight is one
Parameter object held by both layers: a change to it (an optimiser step, a checkpoint
load) shows in both, ``named_parameters`` lists it once, and its gradient is the sum of
the encoder's and the decoder's contributions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .layers import Linear
from .module import Module, Parameter


class TiedLinear(Module):
    """y = x W + b′ with W the weight of ``encoder`` (a Linear(in, out)); own bias b′ (in,).

    Parameters
    ----------
    encoder : the Linear(in_features, out_features) whose weight (out, in) is shared
    bias : whether to learn a bias b′ of shape (in_features,); it starts at zero

    Shapes: x : (..., encoder.out_features) -> (..., encoder.in_features).
    """

    def __init__(self, encoder: Linear, bias: bool = True) -> None:
        super().__init__()
        if not isinstance(encoder, Linear):
            raise TypeError(
                f"TiedLinear: encoder must be a minigen.nn.Linear, got {type(encoder).__name__}"
            )
        self.in_features, self.out_features = encoder.out_features, encoder.in_features
        self.weight = encoder.weight  # the same Parameter object, not a copy
        dtype = encoder.weight.dtype
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"TiedLinear({self.in_features}, {self.out_features}): input has last "
                f"dimension {x.shape[-1]} (shape {x.shape}), expected {self.in_features}"
            )
        out = x @ self.weight  # x̂ = h W: the encoder's (out, in) matrix used transposed
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, tied, bias={self.bias is not None}"
