"""Group normalisation (Wu & He, 2018) with torch.nn.GroupNorm's names and layout.

The C channels are split into G groups of C / G; each example's group is normalised over
its channels and spatial positions, y = (x − μ) / √(σ² + ε) · γ + β, with the biased
variance and a per-channel affine (γ, β). Independent of the batch size, so it behaves the
same in training and evaluation (the U-Nets of diffusion models use it for that reason).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .module import Module, Parameter
from .norm import _normalize


class GroupNorm(Module):
    """GroupNorm(num_groups, num_channels, eps=1e-5, affine=True).

    x : (N, C, *) -> same shape; ``weight`` (γ, ones) and ``bias`` (β, zeros) of shape (C,).
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be a positive "
                             f"multiple of num_groups ({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(num_channels, dtype=dtype))

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected "
                             f"input (N, {self.num_channels}, *), got shape {x.shape}")
        grouped = x.reshape(x.shape[0], self.num_groups, -1)  # (N, G, C/G · spatial)
        y = _normalize(grouped, (2,), self.eps).reshape(*x.shape)
        if not self.affine:
            return y
        channel_shape = (1, self.num_channels) + (1,) * (x.ndim - 2)
        return y * self.weight.reshape(channel_shape) + self.bias.reshape(channel_shape)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
