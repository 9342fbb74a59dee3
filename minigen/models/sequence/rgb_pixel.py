"""One RGB pixel, two ways: the full joint table against independent channels.

An 8-bit colour pixel is a sequence of three tokens (r, g, b), each one of K = 256 levels.
By the chain rule, p(r, g, b) = p(r) p(g | r) p(b | r, g) with full tables is exactly the
joint table: K³ − 1 = 16,777,215 free parameters (``minigen.models.tabular.RGBPixelJoint``,
registered as ``rgb_pixel``). Dropping every context gives the independent-channel model

    p(r, g, b) = p(r) p(g) p(b),     3 (K − 1) = 765 free parameters,

which cannot express that the channels of real colours move together (grey pixels have
r ≈ g ≈ b), so it spends more nats per pixel; the joint, on the other hand, sees most of
its 16.7 million colours never or once and needs smoothing to give test pixels any mass.

Training is counting: p_c(v) = (n_c(v) + α) / (N + α K) per channel c, the MLE for α = 0.
Data: x : (N, 3) integer levels 0 … K − 1 (``minigen.data.load_colour_pixels``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.models.base import CountsFreeParameters, ExplicitDensity, TrainsItself
from minigen.nn import Parameter

from .base import check_rng


class IndependentChannels(ExplicitDensity, TrainsItself, CountsFreeParameters):
    """p(r) p(g) p(b): one counted categorical per channel.

    Parameters
    ----------
    data_shape : (3,)
    rng : unused (the tables start uniform); accepted for the registry's protocol
    levels : K, levels per channel
    smoothing : α ≥ 0, Laplace pseudo-counts per level
    """

    uses_learning_rate = False

    def __init__(self, data_shape: tuple[int, ...] = (3,), *, rng: np.random.Generator,
                 levels: int = 256, smoothing: float = 0.0) -> None:
        super().__init__()
        check_rng(rng, "IndependentChannels")
        if tuple(data_shape) != (3,):
            raise ValueError(f"IndependentChannels: data_shape must be (3,), got {data_shape}")
        if levels < 1 or not smoothing >= 0:
            raise ValueError(f"IndependentChannels: need levels >= 1 and smoothing >= 0, got "
                             f"{levels} and {smoothing}")
        self.levels, self.smoothing = int(levels), float(smoothing)
        self.data_shape = (3,)
        self.register_buffer("counts", np.zeros((3, self.levels)))
        self.register_buffer("probs", np.full((3, self.levels), 1.0 / self.levels))

    def num_free_parameters(self) -> int:
        return 3 * (self.levels - 1)

    def _levels(self, x: Any) -> np.ndarray:
        x = np.asarray(x.data if isinstance(x, Tensor) else x)
        if x.ndim != 2 or x.shape[1] != 3 or not np.all(
                (x == np.round(x)) & (x >= 0) & (x < self.levels)):
            raise ValueError(f"IndependentChannels: x must be (N, 3) integers 0 … "
                             f"{self.levels - 1}, got shape {x.shape}")
        return x.astype(np.int64)

    def fit(self, x: Any) -> IndependentChannels:
        """Maximum likelihood (with α) on all of x (forgets earlier counts)."""
        self.counts = np.zeros_like(self.counts)
        self._count(self._levels(x))
        return self

    def _count(self, levels: np.ndarray) -> None:
        for channel in range(3):
            self.counts[channel] += np.bincount(levels[:, channel], minlength=self.levels)
        total = self.counts.sum(axis=1, keepdims=True) + self.smoothing * self.levels
        seen = total > 0
        self.probs = np.where(seen, (self.counts + self.smoothing) / np.where(seen, total, 1),
                              1.0 / self.levels)  # p_c(v) = (n_c(v) + α) / (N + α K)

    def log_prob(self, x: Any) -> np.ndarray:
        """(N,) log p(r) + log p(g) + log p(b), nats."""
        levels = self._levels(x)
        with np.errstate(divide="ignore"):
            return np.log(self.probs[np.arange(3), levels]).sum(axis=1)

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        return Tensor(np.asarray(-self.log_prob(x).mean()))

    def players(self) -> dict[str, list[Parameter]]:
        return {}

    def train_step(self, x: Any, rng: np.random.Generator | None = None,
                   **conditions: Any) -> dict[str, float]:
        self._count(self._levels(x))
        return {"loss": float(-self.log_prob(x).mean())}

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) int64 colours, each channel drawn on its own."""
        check_rng(rng, "IndependentChannels.sample")
        return np.stack([rng.choice(self.levels, size=n, p=self.probs[c]) for c in range(3)],
                        axis=1)
