"""KL(p ‖ q) in closed form for pairs of the same family.

    Normal:       log σ_q − log σ_p + (σ_p² + (μ_p − μ_q)²) / (2σ_q²) − ½   (elementwise)
    Categorical:  Σ_k p_k (log p_k − log q_k)                             (over the last axis)
    Bernoulli:    p (log p − log q) + (1 − p)(log(1 − p) − log(1 − q))     (elementwise)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autograd as ag
from autograd import Tensor

from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution, broadcast_shapes
from .normal import Normal


def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    # With r = σ_p²/σ_q² and t = (μ_p − μ_q)/σ_q:  KL = ½ (r + t² − 1 − log r)
    log_ratio = (p.log_scale - q.log_scale) * 2
    t = (p.loc - q.loc) * ag.exp(-q.log_scale)
    return (ag.exp(log_ratio) + t * t - 1 - log_ratio) * 0.5


def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    if p.num_categories != q.num_categories:
        raise ValueError(
            f"kl_divergence: p has {p.num_categories} categories but q has "
            f"{q.num_categories}; they must match"
        )
    log_p, log_q = p.log_probs, q.log_probs
    # Categories with p_k = 0 contribute 0 (0 log 0 = 0), whatever q_k is.
    difference = ag.where(np.isfinite(log_p.data), log_p - log_q, 0.0)
    return (ag.exp(log_p) * difference).sum(axis=-1)  # Σ_k p_k (log p_k − log q_k)


def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    # log σ(l) = −softplus(−l), log(1 − σ(l)) = −softplus(l): no log of a probability.
    prob = ag.sigmoid(p.logits)
    one = ag.softplus(-q.logits) - ag.softplus(-p.logits)  # log p − log q
    zero = ag.softplus(q.logits) - ag.softplus(p.logits)  # log(1 − p) − log(1 − q)
    return prob * one + (1 - prob) * zero


_CLOSED_FORMS: dict[tuple[type, type], Callable[..., Tensor]] = {
    (Normal, Normal): _kl_normal_normal,
    (Categorical, Categorical): _kl_categorical_categorical,
    (Bernoulli, Bernoulli): _kl_bernoulli_bernoulli,
}


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p ‖ q) = E_p[log p(x) − log q(x)] in closed form; shape: the broadcast batch."""
    rule = _CLOSED_FORMS.get((type(p), type(q)))
    if rule is None:
        known = ", ".join(f"{a.__name__}–{b.__name__}" for a, b in _CLOSED_FORMS)
        raise NotImplementedError(
            f"kl_divergence: no closed form for {type(p).__name__} ‖ {type(q).__name__}; "
            f"available: {known}"
        )
    broadcast_shapes("kl_divergence", p=p.batch_shape, q=q.batch_shape)
    return rule(p, q)
