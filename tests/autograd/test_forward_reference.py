"""Forward values against independent NumPy/SciPy implementations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from tests.autograd.values import nonscalar_shapes, normal, seeds, small_shapes

finite = st.floats(-60, 60, allow_nan=False, allow_infinity=False)


def float_arrays(shapes: st.SearchStrategy = small_shapes) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shapes, elements=finite)


def axes_for(ndim: int) -> st.SearchStrategy:
    return st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                     hnp.valid_tuple_axes(ndim, min_size=1))


ELEMENTWISE = {
    "sigmoid": (ag.sigmoid, scipy.special.expit),
    "softplus": (ag.softplus, lambda x: np.logaddexp(0.0, x)),
    "tanh": (ag.tanh, lambda x: np.sinh(x) / np.cosh(x)),
    "relu": (ag.relu, lambda x: np.where(x > 0, x, 0.0)),
    "leaky_relu": (lambda x: ag.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "abs": (ag.abs, lambda x: np.hypot(x, 0.0)),
    "clip": (lambda x: ag.clip(x, -1.5, 2.0), lambda x: np.minimum(np.maximum(x, -1.5), 2.0)),
    "exp": (ag.exp, lambda x: np.power(np.e, x)),
    "log1p_of_abs": (lambda x: ag.log1p(ag.abs(x)), lambda x: scipy.special.log1p(np.abs(x))),
    "sqrt_of_abs": (lambda x: ag.sqrt(ag.abs(x)), lambda x: np.abs(x) ** 0.5),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@given(x=float_arrays())
def test_elementwise_forward_matches_independent_reference(name, x):
    ours, reference = ELEMENTWISE[name]
    np.testing.assert_allclose(ours(ag.Tensor(x)).data, reference(x), rtol=1e-12, atol=1e-300)


@given(data=st.data(), x=float_arrays(nonscalar_shapes), keepdims=st.booleans())
def test_logsumexp_matches_scipy(data, x, keepdims):
    axis = data.draw(axes_for(x.ndim), label="axis")
    np.testing.assert_allclose(ag.logsumexp(x, axis, keepdims).data,
                               scipy.special.logsumexp(x, axis=axis, keepdims=keepdims),
                               rtol=1e-12, atol=1e-12)


@given(data=st.data(), x=float_arrays(nonscalar_shapes))
def test_softmax_and_log_softmax_match_scipy(data, x):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    np.testing.assert_allclose(ag.softmax(x, axis).data, scipy.special.softmax(x, axis=axis),
                               rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(ag.log_softmax(x, axis).data,
                               scipy.special.log_softmax(x, axis=axis), rtol=1e-10, atol=1e-12)


@given(data=st.data(), x=float_arrays(nonscalar_shapes), keepdims=st.booleans())
def test_reductions_match_numpy(data, x, keepdims):
    axis = data.draw(axes_for(x.ndim), label="axis")
    t = ag.Tensor(x)
    np.testing.assert_allclose(t.sum(axis, keepdims).data, np.sum(x, axis, keepdims=keepdims),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.mean(axis, keepdims).data,
                               np.mean(x, axis, keepdims=keepdims), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.var(axis, keepdims).data, np.var(x, axis, keepdims=keepdims),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(t.max(axis, keepdims).data, np.amax(x, axis, keepdims=keepdims))
    np.testing.assert_array_equal(t.min(axis, keepdims).data, np.amin(x, axis, keepdims=keepdims))


@given(x=float_arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3)))
def test_unbiased_var_matches_numpy_ddof_1(x):
    np.testing.assert_allclose(ag.Tensor(x).var(0, ddof=1).data, np.var(x, 0, ddof=1),
                               rtol=1e-9, atol=1e-9)


@given(shapes=hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)",
                                                max_dims=4, max_side=3), seed=seeds)
def test_matmul_matches_einsum_reference(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (normal(rng, shape) for shape in shapes.input_shapes)
    # Promote 1-D operands by hand, multiply with an explicit sum, and drop the added axes.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    expected = np.sum(a2[..., :, :, None] * b2[..., None, :, :], axis=-2)
    if a.ndim == 1:
        expected = expected[..., 0, :]
    if b.ndim == 1:
        expected = expected[..., 0]
    ours = ag.matmul(a, b).data
    assert ours.shape == expected.shape == shapes.result_shape
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_concat_stack_split_match_numpy(data, shape, seed):
    rng = np.random.default_rng(seed)
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    a, b = normal(rng, shape), normal(rng, shape)
    np.testing.assert_array_equal(ag.concat([a, b], axis).data, np.concatenate([a, b], axis))
    np.testing.assert_array_equal(ag.stack([a, b], axis).data, np.stack([a, b], axis))
    cuts = data.draw(st.lists(st.integers(0, shape[axis]), max_size=3).map(sorted), "cuts")
    for ours, expected in zip(ag.split(a, cuts, axis), np.split(a, cuts, axis), strict=True):
        np.testing.assert_array_equal(ours.data, expected)


@given(data=st.data(), shape=nonscalar_shapes, value=finite, seed=seeds)
def test_pad_places_the_input_inside_a_constant_border(data, shape, value, seed):
    x = normal(np.random.default_rng(seed), shape)
    widths = [data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in shape]
    ours = ag.pad(x, widths, value).data
    inner = tuple(slice(lo, lo + size) for (lo, _), size in zip(widths, shape))
    np.testing.assert_array_equal(ours[inner], x)
    border = np.ones(ours.shape, bool)
    border[inner] = False
    assert np.all(ours[border] == value)


@given(length=st.integers(1, 6), hidden=st.integers(1, 4), batch=st.integers(1, 3),
       reverse=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_lstm_sequence_equals_its_steps_and_their_gradients(length, hidden, batch, reverse,
                                                            seed):
    """The one-primitive recurrence against T recorded steps h, c = lstm_cell(x_t + W h, c):
    the same outputs, final state and gradients (∂L/∂W_hh summed in another order)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for shape in
              [(4 * hidden, length, batch), (hidden, batch), (hidden, batch),
               (4 * hidden, hidden)]]
    weights = rng.standard_normal((length, hidden, batch))  # L = Σ weights · outputs + …

    def gradients(run):
        leaves = [ag.Tensor(a, requires_grad=True) for a in arrays]
        outputs, h, c = run(*leaves)
        loss = (outputs * weights).sum() + (h * h).sum() + (c * 3.0).sum()
        loss.backward()
        return [outputs.data, h.data, c.data] + [leaf.grad for leaf in leaves]

    def by_steps(x_gates, h, c, weight_hh):
        steps = ag.unstack(x_gates, axis=1)
        outputs = [None] * length
        for t in (reversed(range(length)) if reverse else range(length)):
            h, c = ag.lstm_cell(steps[t] + weight_hh @ h, c, axis=0)
            outputs[t] = h
        return ag.stack(outputs), h, c

    fused = gradients(lambda *t: ag.lstm_sequence(*t, reverse=reverse))
    for ours, reference in zip(fused, gradients(by_steps)):
        np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-12)


def test_lstm_sequence_names_the_shapes_it_expected():
    with pytest.raises(ValueError, match=r"lstm_sequence: expected x_gates \(4H, T, N\)"):
        ag.lstm_sequence(np.zeros((8, 3, 2)), np.zeros((2, 2)), np.zeros((2, 2)),
                         np.zeros((8, 3)))
