"""Categorical(logits) over the last axis: P(x = k) = softmax(l)_k.

log p(k) = log_softmax(l)_k = l_k − logsumexp(l), stable for any finite logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_rng

from .distribution import Distribution, as_parameters, sample_shape_of


class Categorical(Distribution):
    """Categorical(logits).  logits : (..., K); batch_shape = logits.shape[:-1]."""

    def __init__(self, logits: Any) -> None:
        (self.logits,) = as_parameters("Categorical", logits=logits)
        if self.logits.ndim < 1 or self.logits.shape[-1] < 1:
            raise ValueError(
                "Categorical: logits must have shape (..., K) with K >= 1 categories on the "
                f"last axis, got shape {self.logits.shape}"
            )
        self.batch_shape = self.logits.shape[:-1]
        self.num_categories = self.logits.shape[-1]
        self.dtype = self.logits.dtype

    @property
    def log_probs(self) -> Tensor:
        """Normalised log-probabilities, (..., K)."""
        return ag.log_softmax(self.logits, axis=-1)

    @property
    def probs(self) -> Tensor:
        return ag.softmax(self.logits, axis=-1)

    def _indices(self, value: Any) -> np.ndarray:
        raw = value.data if isinstance(value, Tensor) else np.asarray(value)
        if raw.dtype.kind not in "iub" and not (
            raw.dtype.kind == "f" and np.all(raw == np.round(raw))
        ):
            raise TypeError(
                f"Categorical.log_prob: value must hold integer category indices, got dtype "
                f"{raw.dtype}"
            )
        index = raw.astype(np.int64)
        if index.size and (index.min() < 0 or index.max() >= self.num_categories):
            raise ValueError(
                f"Categorical.log_prob: indices must lie in [0, {self.num_categories}), got "
                f"values from {index.min()} to {index.max()}"
            )
        return index

    def log_prob(self, value: Any) -> Tensor:
        """log_softmax(l)[..., value].  value : integer indices broadcastable with batch."""
        index = self._indices(value)
        try:
            shape = tuple(np.broadcast_shapes(index.shape, self.batch_shape))
        except ValueError:
            raise ValueError(
                f"Categorical.log_prob: value of shape {index.shape} does not broadcast with "
                f"the batch shape {self.batch_shape}"
            ) from None
        log_probs = ag.log_softmax(self.logits, axis=-1)  # l_k − logsumexp(l)
        if log_probs.shape[:-1] != shape:
            log_probs = log_probs.expand(shape + (self.num_categories,))
        position = np.indices(shape, sparse=True) if shape else ()
        return log_probs[tuple(position) + (np.broadcast_to(index, shape),)]

    def entropy(self) -> Tensor:
        # H = −Σ_k p_k log p_k; categories with log p = −inf contribute 0 (and no NaN grad).
        log_probs = ag.log_softmax(self.logits, axis=-1)
        finite = ag.where(np.isfinite(log_probs.data), log_probs, 0.0)
        return -(ag.exp(log_probs) * finite).sum(axis=-1)

    def sample(self, rng: np.random.Generator, sample_shape: Any = ()) -> np.ndarray:
        """Category indices (int64) of shape sample_shape + batch_shape, by inverse CDF."""
        check_rng("Categorical.sample", rng)
        shape = sample_shape_of("Categorical.sample", sample_shape) + self.batch_shape
        probs = ag.softmax(self.logits.data.astype(np.float64), axis=-1).data
        cdf = np.cumsum(probs, axis=-1)
        uniform = rng.random(shape + (1,)) * cdf[..., -1:]
        # k is drawn when cdf_{k−1} ≤ u < cdf_k: count the cdf entries at or below u.
        index = np.sum(cdf <= uniform, axis=-1)
        return np.minimum(index, self.num_categories - 1).astype(np.int64)
