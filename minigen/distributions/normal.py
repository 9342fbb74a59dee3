"""Normal(loc, log_scale): independent Gaussians, elementwise (a diagonal covariance).

The standard deviation is σ = exp(log_scale) — the log of the standard deviation, not of
the variance (using exp(log σ²) as σ is a known bug in public VAEs; a test catches it).

    log p(x) = −½((x − μ)/σ)² − log σ − ½ log 2π
    H        = ½ + ½ log 2π + log σ
    rsample  = μ + σ·ε,  ε ~ N(0, 1)  (differentiable in μ and log σ)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_rng

from .distribution import (
    Distribution,
    as_parameters,
    broadcast_shapes,
    sample_shape_of,
    value_tensor,
)

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class Normal(Distribution):
    """Normal(loc, log_scale).  loc, log_scale : broadcastable; batch_shape their broadcast."""

    def __init__(self, loc: Any, log_scale: Any) -> None:
        self.loc, self.log_scale = as_parameters("Normal", loc=loc, log_scale=log_scale)
        self.batch_shape = broadcast_shapes("Normal", loc=self.loc.shape,
                                            log_scale=self.log_scale.shape)
        self.dtype = self.loc.dtype

    @classmethod
    def standard(cls, shape: tuple[int, ...] = (), dtype: Any = np.float32) -> Normal:
        """N(0, 1) with batch shape ``shape``."""
        return cls(np.zeros(shape, dtype=dtype), np.zeros(shape, dtype=dtype))

    def _full(self, tensor: Tensor) -> Tensor:
        return tensor if tensor.shape == self.batch_shape else tensor.expand(self.batch_shape)

    @property
    def mean(self) -> Tensor:
        return self._full(self.loc)

    @property
    def stddev(self) -> Tensor:
        return self._full(ag.exp(self.log_scale))  # σ = exp(log σ)

    @property
    def variance(self) -> Tensor:
        return self._full(ag.exp(self.log_scale * 2))  # σ² = exp(2 log σ)

    def log_prob(self, value: Any) -> Tensor:
        """−½((x − μ)/σ)² − log σ − ½ log 2π.  value : broadcastable with batch_shape."""
        x = value_tensor("Normal.log_prob", value, self.dtype, self.batch_shape)
        z = (x - self.loc) * ag.exp(-self.log_scale)  # (x − μ)/σ
        return z * z * -0.5 - self.log_scale - HALF_LOG_TWO_PI

    def entropy(self) -> Tensor:
        return self._full(self.log_scale) + (0.5 + HALF_LOG_TWO_PI)  # ½ + ½ log 2π + log σ

    def rsample(self, rng: np.random.Generator, sample_shape: Any = ()) -> Tensor:
        """μ + σ·ε of shape sample_shape + batch_shape, differentiable in loc and log_scale."""
        check_rng("Normal.rsample", rng)
        shape = sample_shape_of("Normal.rsample", sample_shape) + self.batch_shape
        noise = rng.standard_normal(shape).astype(self.dtype)
        return self.loc + ag.exp(self.log_scale) * noise  # μ + σ ε

    def sample(self, rng: np.random.Generator, sample_shape: Any = ()) -> np.ndarray:
        """Draws of shape sample_shape + batch_shape as an ndarray (no graph)."""
        with ag.no_grad():
            return self.rsample(rng, sample_shape).data
