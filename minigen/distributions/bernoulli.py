"""Bernoulli(logits): independent coins with P(x = 1) = σ(l), elementwise.

log p(x) = x·l − softplus(l), which equals x log σ(l) + (1 − x) log(1 − σ(l)) but never
takes the log of a probability, so it stays finite at logits of ±1e4. For x in [0, 1]
it is minus the binary cross-entropy with logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_rng
from minigen.nn.losses import bernoulli_log_likelihood

from .distribution import Distribution, as_parameters, sample_shape_of, value_tensor


class Bernoulli(Distribution):
    """Bernoulli(logits).  logits : (...) any shape; batch_shape = logits.shape."""

    def __init__(self, logits: Any) -> None:
        (self.logits,) = as_parameters("Bernoulli", logits=logits)
        self.batch_shape = self.logits.shape
        self.dtype = self.logits.dtype

    @property
    def probs(self) -> Tensor:
        return ag.sigmoid(self.logits)

    @property
    def mean(self) -> Tensor:
        return ag.sigmoid(self.logits)

    @property
    def variance(self) -> Tensor:
        p = ag.sigmoid(self.logits)
        return p * (1 - p)

    def log_prob(self, value: Any) -> Tensor:
        """log p(x) = x·l − softplus(l).  value : broadcastable with batch_shape."""
        x = value_tensor("Bernoulli.log_prob", value, self.dtype, self.batch_shape)
        return bernoulli_log_likelihood(x, self.logits)  # x·l − log(1 + e^l)

    def entropy(self) -> Tensor:
        # H = −p log p − (1−p) log(1−p) = softplus(l) − p·l
        return ag.softplus(self.logits) - ag.sigmoid(self.logits) * self.logits

    def sample(self, rng: np.random.Generator, sample_shape: Any = ()) -> np.ndarray:
        """Draws in {0, 1} of shape sample_shape + batch_shape, in the logits' dtype."""
        check_rng("Bernoulli.sample", rng)
        shape = sample_shape_of("Bernoulli.sample", sample_shape) + self.batch_shape
        probs = ag.sigmoid(self.logits.data).data
        return (rng.random(shape) < probs).astype(self.dtype)
