"""Affine and convolutional layers with PyTorch's names, shapes and default initialisation.

Initialisation follows torch.nn's defaults (Kaiming-uniform weights with a = √5, which is
U(−1/√fan_in, 1/√fan_in), and the same bound for biases), drawn from an explicit ``rng``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd.conv import int_pair
from minigen.checks import check_rng

from .activations import ReLU
from .module import Module, Parameter, Sequential


def uniform_init(
    shape: tuple[int, ...], bound: float, rng: np.random.Generator, dtype: Any = np.float32
) -> np.ndarray:
    """U(−bound, bound) samples of ``shape``."""
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class Linear(Module):
    """y = x Wᵀ + b.  x : (..., in_features) -> (..., out_features); weight (out, in)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        check_rng("Linear", rng)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / np.sqrt(in_features) if in_features else 0.0
        self.weight = Parameter(uniform_init((out_features, in_features), bound, rng, dtype))
        self.bias = Parameter(uniform_init((out_features,), bound, rng, dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): input has last "
                f"dimension {x.shape[-1]} (shape {x.shape}), expected {self.in_features}"
            )
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D cross-correlation.  x : (N, in, H, W) -> (N, out, Ho, Wo); weight (out, in, kh, kw)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        bias: bool = True,
        *,
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        check_rng("Conv2d", rng)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = int_pair(kernel_size, "kernel_size")
        self.stride, self.padding, self.dilation = stride, padding, dilation
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1 / np.sqrt(fan_in)
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = Parameter(uniform_init(shape, bound, rng, dtype))
        self.bias = Parameter(uniform_init((out_channels,), bound, rng, dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        return ag.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class ConvTranspose2d(Module):
    """Transposed convolution.  x : (N, in, H, W) -> (N, out, Ho, Wo); weight (in, out, kh, kw)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        bias: bool = True,
        dilation: Any = 1,
        *,
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        check_rng("ConvTranspose2d", rng)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = int_pair(kernel_size, "kernel_size")
        self.stride, self.padding = stride, padding
        self.output_padding, self.dilation = output_padding, dilation
        # torch computes fan_in from weight.shape[1] * kh * kw for transposed convs.
        fan_in = out_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1 / np.sqrt(fan_in)
        shape = (in_channels, out_channels, *self.kernel_size)
        self.weight = Parameter(uniform_init(shape, bound, rng, dtype))
        self.bias = Parameter(uniform_init((out_channels,), bound, rng, dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        return ag.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                   self.output_padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class Flatten(Module):
    """Merge axes start_dim … end_dim into one: (N, C, H, W) -> (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        merged = int(np.prod(x.shape[start:end + 1]))
        return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def mlp(widths: list[int], rng: np.random.Generator,
        activation: Callable[[], Module] = ReLU) -> Module:
    """Linear layers between consecutive ``widths``, ``activation()`` between them (not after
    the last): ``mlp([64, 256, 32])`` is Linear(64, 256), ReLU, Linear(256, 32);
    ``activation=lambda: LeakyReLU(0.2)`` gives a GAN discriminator's."""
    layers: list[Module] = []
    for index, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(Linear(int(width_in), int(width_out), rng=rng))
        if index < len(widths) - 2:
            layers.append(activation())
    return Sequential(*layers)
