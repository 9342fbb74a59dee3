"""Mixtures of Gaussians with mixing weights π = softmax(logits).

    MixtureOfNormals          p(x) = Σ_k π_k N(x; μ_k, σ_k)              (x a real number)
    MixtureOfDiagonalNormals  p(x) = Σ_k π_k Π_d N(x_d; μ_kd, σ_kd)      (x in R^D)

Both compute log p(x) = logsumexp_k(log π_k + log N_k(x)) with log π = log_softmax(logits),
so no probability is ever exponentiated and logged back. RNADE (Uria et al., 2013) uses
the scalar one for each conditional; mixture density networks use the diagonal one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_rng

from .categorical import Categorical
from .distribution import (
    Distribution,
    as_parameters,
    broadcast_shapes,
    sample_shape_of,
    to_dtype,
)
from .normal import Normal


def _pick_component(values: np.ndarray, component: np.ndarray) -> np.ndarray:
    """values (..., K, *event) at component (...): the chosen component's entries."""
    extra = values.ndim - component.ndim - 1
    index = component.reshape(component.shape + (1,) * (extra + 1))
    return np.take_along_axis(values, index, axis=component.ndim).squeeze(component.ndim)


class MixtureOfNormals(Distribution):
    """A mixture of K scalar Gaussians.

    Parameters
    ----------
    logits, loc, log_scale : (..., K)
        Unnormalised log mixing weights and each component's mean and log standard
        deviation; leading dims broadcast, K must agree. batch_shape = the leading dims.
    """

    def __init__(self, logits: Any, loc: Any, log_scale: Any) -> None:
        self.logits, self.loc, self.log_scale = as_parameters(
            "MixtureOfNormals", logits=logits, loc=loc, log_scale=log_scale)
        if self.logits.ndim < 1:
            raise ValueError("MixtureOfNormals: logits must have shape (..., K), got a scalar")
        shape = broadcast_shapes("MixtureOfNormals", logits=self.logits.shape,
                                 loc=self.loc.shape, log_scale=self.log_scale.shape)
        self.num_components = self.logits.shape[-1]
        if shape[-1] != self.num_components:
            raise ValueError(
                f"MixtureOfNormals: logits have K={self.num_components} components on the "
                f"last axis but loc {self.loc.shape} and log_scale {self.log_scale.shape} "
                f"broadcast to {shape[-1]}"
            )
        self.batch_shape = shape[:-1]
        self.dtype = self.logits.dtype

    @property
    def mixture_distribution(self) -> Categorical:
        return Categorical(self.logits)

    @property
    def component_distribution(self) -> Normal:
        return Normal(self.loc, self.log_scale)

    @property
    def mean(self) -> Tensor:
        weights = ag.softmax(self.logits, axis=-1)
        return (weights * self.loc).sum(axis=-1)  # Σ_k π_k μ_k

    @property
    def variance(self) -> Tensor:
        # Var = Σ_k π_k (σ_k² + μ_k²) − (Σ_k π_k μ_k)²
        weights = ag.softmax(self.logits, axis=-1)
        second = (weights * (ag.exp(self.log_scale * 2) + self.loc * self.loc)).sum(axis=-1)
        mean = self.mean
        return second - mean * mean

    def log_prob(self, value: Any) -> Tensor:
        """log Σ_k π_k N(x; μ_k, σ_k).  value : (...) broadcastable with batch_shape."""
        x = to_dtype(value, self.dtype)
        broadcast_shapes("MixtureOfNormals.log_prob", value=x.shape, batch=self.batch_shape)
        x = x.reshape(x.shape + (1,))
        log_weights = ag.log_softmax(self.logits, axis=-1)  # log π_k
        components = self.component_distribution.log_prob(x)  # log N(x; μ_k, σ_k)
        return ag.logsumexp(log_weights + components, axis=-1)

    def sample(self, rng: np.random.Generator, sample_shape: Any = ()) -> np.ndarray:
        """Draws of shape sample_shape + batch_shape: pick k ~ π, then x ~ N(μ_k, σ_k)."""
        check_rng("MixtureOfNormals.sample", rng)
        sample_shape = sample_shape_of("MixtureOfNormals.sample", sample_shape)
        shape = sample_shape + self.batch_shape
        logits = np.broadcast_to(self.logits.data, self.batch_shape + (self.num_components,))
        component = Categorical(logits).sample(rng, sample_shape)
        full = shape + (self.num_components,)
        loc = _pick_component(np.broadcast_to(self.loc.data, full), component)
        scale = _pick_component(np.broadcast_to(np.exp(self.log_scale.data), full), component)
        return (loc + scale * rng.standard_normal(shape)).astype(self.dtype)


class MixtureOfDiagonalNormals(Distribution):
    """A mixture of K Gaussians in R^D, each with a diagonal covariance.

    Parameters
    ----------
    logits : (..., K)
    loc, log_scale : (..., K, D)
        Leading dims broadcast with the logits'; batch_shape = the leading dims, event D.
    """

    def __init__(self, logits: Any, loc: Any, log_scale: Any) -> None:
        owner = "MixtureOfDiagonalNormals"
        self.logits, self.loc, self.log_scale = as_parameters(
            owner, logits=logits, loc=loc, log_scale=log_scale)
        if self.logits.ndim < 1 or self.loc.ndim < 2 or self.log_scale.ndim < 2:
            raise ValueError(
                f"{owner}: expected logits (..., K) and loc, log_scale (..., K, D), got "
                f"logits {self.logits.shape}, loc {self.loc.shape}, log_scale "
                f"{self.log_scale.shape}"
            )
        components = broadcast_shapes(owner, loc=self.loc.shape,
                                      log_scale=self.log_scale.shape)
        self.num_components = self.logits.shape[-1]
        if components[-2] != self.num_components:
            raise ValueError(
                f"{owner}: logits have K={self.num_components} components but loc "
                f"{self.loc.shape} and log_scale {self.log_scale.shape} have "
                f"{components[-2]} on axis -2"
            )
        self.batch_shape = broadcast_shapes(owner, logits=self.logits.shape[:-1],
                                            loc=components[:-2])
        self.event_shape = components[-1:]
        self.dtype = self.logits.dtype

    @property
    def mixture_distribution(self) -> Categorical:
        return Categorical(self.logits)

    @property
    def component_distribution(self) -> Normal:
        return Normal(self.loc, self.log_scale)

    @property
    def mean(self) -> Tensor:
        weights = ag.softmax(self.logits, axis=-1)
        return (weights.reshape(weights.shape + (1,)) * self.loc).sum(axis=-2)  # Σ π_k μ_k

    def log_prob(self, value: Any) -> Tensor:
        """log Σ_k π_k Π_d N(x_d; μ_kd, σ_kd).  value : (..., D)."""
        owner = "MixtureOfDiagonalNormals.log_prob"
        x = to_dtype(value, self.dtype)
        if x.ndim < 1 or x.shape[-1] != self.event_shape[0]:
            raise ValueError(
                f"{owner}: value must have shape (..., {self.event_shape[0]}), got {x.shape}"
            )
        broadcast_shapes(owner, value=x.shape[:-1], batch=self.batch_shape)
        x = x.reshape(x.shape[:-1] + (1,) + x.shape[-1:])
        log_weights = ag.log_softmax(self.logits, axis=-1)  # log π_k
        # log N_k(x) = Σ_d log N(x_d; μ_kd, σ_kd)
        components = self.component_distribution.log_prob(x).sum(axis=-1)
        return ag.logsumexp(log_weights + components, axis=-1)

    def sample(self, rng: np.random.Generator, sample_shape: Any = ()) -> np.ndarray:
        """Draws of shape sample_shape + batch_shape + (D,)."""
        check_rng("MixtureOfDiagonalNormals.sample", rng)
        sample_shape = sample_shape_of("MixtureOfDiagonalNormals.sample", sample_shape)
        shape = sample_shape + self.batch_shape
        logits = np.broadcast_to(self.logits.data, self.batch_shape + (self.num_components,))
        component = Categorical(logits).sample(rng, sample_shape)
        full = shape + (self.num_components,) + self.event_shape
        loc = _pick_component(np.broadcast_to(self.loc.data, full), component)
        scale = _pick_component(np.broadcast_to(np.exp(self.log_scale.data), full), component)
        noise = rng.standard_normal(shape + self.event_shape)
        return (loc + scale * noise).astype(self.dtype)
