"""Sinusoidal embedding of a diffusion step t (Vaswani et al., 2017, §3.5; Ho et al., 2020).

e(t) = [cos(t ω_0), …, cos(t ω_{h−1}), sin(t ω_0), …, sin(t ω_{h−1})],
ω_i = max_period^(−i/h), h = dim / 2: frequencies from 1 down to 1/max_period, so nearby
steps get nearby vectors and e(t)·e(s) = Σ_i cos((t − s) ω_i) depends only on t − s.
The table is a constant (t is an integer); a network learns what to do with it through
the Linear layers that follow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .module import Module


def timestep_embedding(t: Any, dim: int, max_period: float = 10000.0,
                       dtype: Any = np.float32) -> np.ndarray:
    """e(t) for t : (N,) (int or float steps) -> (N, dim); dim must be even."""
    if dim < 2 or dim % 2:
        raise ValueError(f"timestep_embedding: dim must be an even int >= 2, got {dim}")
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"timestep_embedding: t must be (N,), got shape {t.shape}")
    half = dim // 2
    frequencies = max_period ** (-np.arange(half) / half)  # ω_i = max_period^(−i/h)
    angles = t[:, None] * frequencies[None]
    return np.concatenate([np.cos(angles), np.sin(angles)], axis=1).astype(dtype)


class SinusoidalTimestepEmbedding(Module):
    """A module around :func:`timestep_embedding`: t : (N,) -> (N, dim) constant Tensor."""

    def __init__(self, dim: int, max_period: float = 10000.0, *, dtype: Any = np.float32) -> None:
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"SinusoidalTimestepEmbedding: dim must be an even int >= 2, "
                             f"got {dim}")
        self.dim, self.max_period, self.dtype = int(dim), float(max_period), dtype

    def forward(self, t: Any) -> Tensor:
        return ag.Tensor(timestep_embedding(t, self.dim, self.max_period, self.dtype))

    def extra_repr(self) -> str:
        return f"{self.dim}, max_period={self.max_period}"
