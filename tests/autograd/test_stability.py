"""Numerical stability: shift invariance, and finite values and gradients at ±1e4."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from tests.autograd.values import nonscalar_shapes

shifts = st.floats(-1e4, 1e4, allow_nan=False)
moderate = hnp.arrays(np.float64, nonscalar_shapes, elements=st.floats(-30, 30))


@given(x=moderate, shift=shifts)
def test_logsumexp_shifts_with_its_input(x, shift):
    """logsumexp(x + c) = logsumexp(x) + c, even when exp(x + c) overflows or underflows."""
    shifted = ag.logsumexp(x + shift, axis=-1).data
    np.testing.assert_allclose(shifted, ag.logsumexp(x, axis=-1).data + shift,
                               rtol=1e-12, atol=1e-9)


@given(x=moderate, shift=shifts)
def test_softmax_and_log_softmax_are_shift_invariant(x, shift):
    np.testing.assert_allclose(ag.softmax(x + shift).data, ag.softmax(x).data,
                               rtol=1e-6, atol=1e-12)
    # log_softmax(x + c) − log_softmax(x) loses the digits of c, not more.
    np.testing.assert_allclose(ag.log_softmax(x + shift).data, ag.log_softmax(x).data,
                               rtol=1e-9, atol=1e-15 * 30 * max(1.0, abs(shift)))


def bce_with_logits(logits: ag.Tensor, targets: np.ndarray) -> ag.Tensor:
    """−[y log σ(l) + (1−y) log(1−σ(l))] = softplus(l) − y·l."""
    return ag.softplus(logits) - logits * targets


TARGETS = np.array([1.0, 0.0, 1.0, 0.0, 0.5, 1.0])
EXTREMES = np.array([1e4, 1e4, -1e4, -1e4, 1e4, 0.0])

# name -> (function of a 1-D logits Tensor, reference value, reference gradient of the sum)
STABLE = {
    "logsumexp": (
        lambda t: ag.logsumexp(t),
        lambda x: scipy.special.logsumexp(x),
        lambda x: scipy.special.softmax(x),
    ),
    "softplus": (ag.softplus, lambda x: np.logaddexp(0.0, x), scipy.special.expit),
    "sigmoid": (
        ag.sigmoid,
        scipy.special.expit,
        lambda x: scipy.special.expit(x) * scipy.special.expit(-x),
    ),
    "log_softmax": (
        lambda t: ag.log_softmax(t),
        lambda x: scipy.special.log_softmax(x),
        lambda x: 1 - x.size * scipy.special.softmax(x),
    ),
    "bce_with_logits": (
        lambda t: bce_with_logits(t, TARGETS.astype(t.dtype)),
        lambda x: np.logaddexp(0.0, x) - TARGETS * x,
        lambda x: scipy.special.expit(x) - TARGETS,
    ),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(STABLE))
def test_values_and_gradients_are_finite_and_right_at_plus_minus_1e4(name, dtype):
    fn, value, gradient = STABLE[name]
    logits = ag.Tensor(EXTREMES.astype(dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow, not even unused
        out = fn(logits)
        first, = ag.grad(out.sum(), [logits], create_graph=True)
        second, = ag.grad(first.sum(), [logits], allow_unused=True)
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(first.data))
    assert np.all(np.isfinite(second.data))
    assert out.dtype == first.dtype == dtype
    # float32 resolves 1e4 only to ~1e-3 (its spacing there), so anything near 1e4 carries
    # that absolute error into the result and the softmax weights.
    rtol, atol = (1e-6, 5e-3) if dtype == np.float32 else (1e-12, 1e-12)
    np.testing.assert_allclose(out.data, value(EXTREMES), rtol=rtol, atol=atol)
    np.testing.assert_allclose(first.data, gradient(EXTREMES), rtol=rtol, atol=atol)
