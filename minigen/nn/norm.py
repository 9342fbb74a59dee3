"""Normalisation layers: LayerNorm and BatchNorm (torch.nn names, buffers and update rules).

Both compute y = (x − μ) / √(σ² + ε) · γ + β with the biased variance σ²; they differ in
which axes μ and σ² are taken over. LayerNorm uses each example's trailing
``normalized_shape`` axes, the same in training and evaluation. BatchNorm uses the batch
(and spatial) axes per channel while training and keeps exponential running averages of
them for evaluation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .module import Module, Parameter


def _normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    """(x − mean) / √(var + ε) over ``axes``, with the biased (divide-by-N) variance."""
    centred = x - x.mean(axis=axes, keepdims=True)
    variance = (centred * centred).mean(axis=axes, keepdims=True)
    return centred / ag.sqrt(variance + eps)


class LayerNorm(Module):
    """Normalise each example over its last ``len(normalized_shape)`` axes.

    x : (..., *normalized_shape) -> same shape. ``weight`` (γ, ones) and ``bias`` (β, zeros)
    have shape ``normalized_shape`` when ``elementwise_affine``.
    """

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        *,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        count = len(self.normalized_shape)
        if x.shape[x.ndim - count:] != self.normalized_shape:
            raise ValueError(
                f"LayerNorm: input shape {x.shape} does not end with normalized_shape "
                f"{self.normalized_shape}"
            )
        y = _normalize(x, tuple(range(x.ndim - count, x.ndim)), self.eps)
        return y * self.weight + self.bias if self.elementwise_affine else y

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _BatchNorm(Module):
    """Shared body of BatchNorm1d/2d; subclasses say which input ranks they accept.

    Training: normalise with the batch mean and biased variance per channel, and update
    running_mean ← (1 − m) running_mean + m μ_B, running_var ← (1 − m) running_var + m s²_B
    with the unbiased s²_B = σ²_B · n / (n − 1) (as torch). ``momentum=None`` makes m
    1 / num_batches_tracked, a plain cumulative average. Evaluation: normalise with the
    running statistics.
    """

    accepted_ndims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if x.ndim not in self.accepted_ndims:
            raise ValueError(
                f"{name}: expected a {' or '.join(f'{n}-D' for n in self.accepted_ndims)} "
                f"input, got shape {x.shape}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}): input has {x.shape[1]} channels on axis 1 "
                f"(shape {x.shape}), expected {self.num_features}"
            )

    def forward(self, x: Any) -> Tensor:
        """x : (N, C, ...) -> same shape, normalised per channel C."""
        x = ag.as_tensor(x)
        self._check_input(x)
        axes = (0,) + tuple(range(2, x.ndim))
        channel_shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        if self.training or not self.track_running_stats:
            count = x.size // self.num_features
            if self.training and count < 2:
                raise ValueError(
                    f"{type(self).__name__}: training needs more than one value per channel "
                    f"to estimate a variance, got input shape {x.shape}"
                )
            y = _normalize(x, axes, self.eps)
            if self.training and self.track_running_stats:
                self._update_running_stats(x.data, axes, count)
        else:
            mean = self.running_mean.reshape(channel_shape)
            scale = 1 / np.sqrt(self.running_var.reshape(channel_shape) + self.eps)
            y = (x - mean.astype(x.dtype)) * scale.astype(x.dtype)
        if self.affine:
            y = y * self.weight.reshape(channel_shape) + self.bias.reshape(channel_shape)
        return y

    def _update_running_stats(self, data: np.ndarray, axes: tuple[int, ...], count: int) -> None:
        self.num_batches_tracked = self.num_batches_tracked + 1
        momentum = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                    else self.momentum)
        batch_mean = data.mean(axis=axes)
        unbiased_var = data.var(axis=axes) * count / (count - 1)  # s² = σ² · n / (n − 1)
        # running ← (1 − m) · running + m · batch statistic
        dtype = self.running_mean.dtype
        self.running_mean = ((1 - momentum) * self.running_mean
                             + momentum * batch_mean).astype(dtype)
        self.running_var = ((1 - momentum) * self.running_var
                            + momentum * unbiased_var).astype(dtype)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of x : (N, C) or (N, C, L) per channel C."""

    accepted_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of x : (N, C, H, W) per channel C."""

    accepted_ndims = (4,)
