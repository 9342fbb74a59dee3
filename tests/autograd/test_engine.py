"""The engine's contract: graph walking, memory, recording switches, dtypes, errors, grad()."""

from __future__ import annotations

import gc
import re
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd.engine import record
from tests.autograd.values import broadcast_pairs, seeds


def test_ten_thousand_op_chain_backpropagates_without_recursion():
    x = ag.Tensor(np.array([0.5, -2.0]), requires_grad=True)
    y = x
    for _ in range(5_000):
        y = y * 1.0001 + 0.5  # 10,000 recorded ops
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(2, 1.0001**5_000), rtol=1e-12)


def test_intermediates_are_collectable_after_backward():
    x = ag.Tensor(np.ones(3), requires_grad=True)
    hidden = ag.tanh(x * 2.0)  # tanh's VJP closes over its own output: a reference cycle
    alive = weakref.ref(hidden)
    loss = (hidden.exp() * 3.0).sum()
    del hidden
    loss.backward()
    gc.collect()
    assert alive() is None


def test_backward_through_unstack_builds_no_full_size_gradient_per_slice(monkeypatch):
    """A sequence layer unstacks T steps: T zero-filled full-size gradients (getitem's
    scatter_add) would be O(T²) memory traffic; one concatenation of the slices is O(T)."""
    full_size_gradients = []
    scatter_add = ag.ops.scatter_add
    monkeypatch.setattr(ag.ops, "scatter_add",
                        lambda *args: full_size_gradients.append(1) or scatter_add(*args))
    x = ag.Tensor(np.ones((64, 3, 5)), requires_grad=True)
    ag.stack([s * 2.0 for s in ag.unstack(x, axis=1)]).sum().backward()
    assert not full_size_gradients
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 2.0))


def test_retained_graph_keeps_intermediates_alive():
    """The weakref check above can fail: with retain_graph the output still holds them."""
    x = ag.Tensor(np.ones(3), requires_grad=True)
    hidden = ag.tanh(x * 2.0)
    alive = weakref.ref(hidden)
    loss = (hidden.exp() * 3.0).sum()
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert alive() is not None


def test_second_backward_through_freed_graph_says_retain_graph():
    x = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    once = x.grad.copy()
    loss.backward()
    np.testing.assert_allclose(once, np.exp(x.data) * (1 + x.data), rtol=1e-12)
    np.testing.assert_allclose(x.grad, 2 * once, rtol=1e-12)


@pytest.mark.parametrize("op", [
    lambda x, w: x * w,
    lambda x, w: ag.exp(x).sum(),
    lambda x, w: x @ w.T,
    lambda x, w: ag.conv2d(x.reshape(1, 1, 2, 3), w.reshape(1, 1, 2, 3)),
    lambda x, w: x[np.array([0, 0, 1])],
], ids=["mul", "exp_sum", "matmul", "conv2d", "getitem"])
def test_nothing_is_recorded_under_no_grad(op):
    x = ag.Tensor(np.ones((2, 3)), requires_grad=True)
    w = ag.Tensor(np.ones((2, 3)), requires_grad=True)
    with ag.no_grad():
        out = op(x, w)
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    assert not out.requires_grad and out._parents == () and out.is_leaf


def test_enable_grad_records_again_inside_no_grad():
    x = ag.Tensor(np.ones(2), requires_grad=True)
    with ag.no_grad(), ag.enable_grad():
        out = x * 2.0
    assert out.requires_grad and out._parents


def test_backward_on_non_scalar_without_grad_says_what_to_pass():
    y = ag.Tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"grad=.*\(2, 3\)|\(2, 3\).*grad="):
        y.backward()


@pytest.mark.parametrize("name, op", [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("pow", lambda a, b: a**b),
    ("maximum", ag.maximum),
    ("minimum", ag.minimum),
    ("where", lambda a, b: ag.where(np.ones(a.shape, bool), a, b)),
])
def test_broadcast_mismatch_error_names_op_and_both_shapes(name, op):
    a, b = ag.Tensor(np.ones((2, 3))), ag.Tensor(np.ones((4,)))
    with pytest.raises(ValueError) as error:
        op(a, b)
    message = str(error.value)
    assert name in message and "(2, 3)" in message and "(4,)" in message


@pytest.mark.parametrize("name, op, shapes", [
    ("matmul", ag.matmul, [(2, 3), (4, 5)]),
    ("reshape", lambda a: ag.reshape(a, (4, 2)), [(2, 3)]),
    ("concat", lambda a, b: ag.concat([a, b], axis=0), [(2, 3), (2, 4)]),
    ("conv2d", ag.conv2d, [(1, 2, 5, 5), (3, 4, 3, 3)]),
    ("expand", lambda a: ag.broadcast_to(a, (3, 4)), [(2, 3)]),
])
def test_shape_error_names_op_and_shapes(name, op, shapes):
    with pytest.raises(ValueError) as error:
        op(*[ag.Tensor(np.ones(shape)) for shape in shapes])
    message = str(error.value)
    assert name in message
    for shape in shapes:
        assert str(shape) in message or str(shape[1]) in message


FLOAT32_PATHS = {
    "scalar_arithmetic": lambda x: (2.0 * x + 1 - x / 3.0) ** 2 - 0.5,
    "reflected": lambda x: 1.0 / (x * x + 1) + 2.0**x - (3 - x),
    "unary": lambda x: ag.tanh(x) + ag.sigmoid(x) + ag.softplus(x) + ag.exp(-x) + ag.abs(x),
    "positive_domain": lambda x: ag.log(x * x + 1.0) + ag.sqrt(x * x + 1) + ag.log1p(x * x),
    "piecewise": lambda x: ag.relu(x) + ag.leaky_relu(x, 0.2) + ag.clip(x, -0.5, 0.5),
    "binary": lambda x: ag.maximum(x, 0.1) + ag.minimum(x, 0.2) + ag.where(x.data > 0, x, 0.0),
    "reductions": lambda x: x.mean(0) + x.var(0) + x.max(0) + x.min(0) + x.sum(0),
    "logsumexp": lambda x: ag.logsumexp(x, 1),
    "softmax": lambda x: ag.softmax(x, 0) + ag.log_softmax(x),
    "shapes": lambda x: ag.concat([ag.pad(x, 1, 0.5), ag.pad(x, 1)], 0).T[np.array([0, 0])],
    "matmul": lambda x: x @ x.T + x[0] @ x.T,
    "conv": lambda x: ag.conv2d(x.reshape(1, 1, 3, 4), np.ones((2, 1, 2, 2), np.float32),
                                stride=2, padding=1),
    "conv_transpose": lambda x: ag.conv_transpose2d(x.reshape(1, 1, 3, 4),
                                                    np.ones((1, 2, 2, 2), np.float32), stride=2),
    "max_pool": lambda x: ag.max_pool2d(x.reshape(1, 1, 3, 4), 2, padding=1),
    "avg_pool": lambda x: ag.avg_pool2d(x.reshape(1, 1, 3, 4), 2, stride=1),
    "upsample": lambda x: ag.upsample_nearest(x.reshape(1, 1, 3, 4), 2),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_PATHS))
def test_float32_stays_float32_through_ops_and_gradients(name):
    x = ag.Tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    out = FLOAT32_PATHS[name](x)
    assert out.dtype == np.float32
    gx, = ag.grad((out * out).sum(), [x], create_graph=True)
    assert gx.dtype == np.float32
    (out.sum() + (gx * gx).sum()).backward()
    assert x.grad.dtype == np.float32


@given(shapes=broadcast_pairs, seed=seeds)
def test_comparisons_return_plain_boolean_arrays(shapes, seed):
    rng = np.random.default_rng(seed)
    a = ag.Tensor(rng.standard_normal(shapes.input_shapes[0]), requires_grad=True)
    b_data = rng.standard_normal(shapes.input_shapes[1])
    for other in (ag.Tensor(b_data), b_data, 0.0):
        raw = other.data if isinstance(other, ag.Tensor) else other
        for ours, expected in [(a < other, a.data < raw), (a <= other, a.data <= raw),
                               (a > other, a.data > raw), (a >= other, a.data >= raw),
                               (a == other, a.data == raw), (a != other, a.data != raw)]:
            # NumPy gives a 0-d comparison as an np.bool_ scalar: still no Tensor, no graph.
            assert isinstance(ours, (np.ndarray, np.bool_)) and ours.dtype == np.bool_
            np.testing.assert_array_equal(ours, expected)


def test_grad_leaves_dot_grad_untouched():
    x = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    gx, = ag.grad((x * x).sum(), [x])
    np.testing.assert_allclose(gx.data, 2 * x.data)
    assert x.grad is None
    x.grad = np.array([7.0, 7.0])
    ag.grad((x * x).sum(), [x])
    np.testing.assert_array_equal(x.grad, [7.0, 7.0])


def test_grad_of_unused_input_raises_unless_allow_unused():
    x = ag.Tensor(np.ones(2), requires_grad=True)
    unused = ag.Tensor(np.ones(3), requires_grad=True)
    loss = (x * 3.0).sum()
    with pytest.raises(ValueError, match="allow_unused"):
        ag.grad(loss, [x, unused], retain_graph=True)
    gx, gu = ag.grad(loss, [x, unused], allow_unused=True)
    np.testing.assert_array_equal(gx.data, [3.0, 3.0])
    np.testing.assert_array_equal(gu.data, np.zeros(3))


def test_grad_of_an_intermediate_tensor():
    x = ag.Tensor(np.array([0.3, -0.7]), requires_grad=True)
    hidden = x * 2.0
    gh, = ag.grad(ag.exp(hidden).sum(), [hidden])
    np.testing.assert_allclose(gh.data, np.exp(hidden.data), rtol=1e-12)


def square_with_half_vjp(x: ag.Tensor) -> ag.Tensor:
    """x² with a wrong VJP (x·g instead of 2x·g)."""
    return record(x.data**2, (x,), lambda g, out: (g * x,), "wrong_square")


def square_with_frozen_vjp(x: ag.Tensor) -> ag.Tensor:
    """x² whose VJP is right but computed outside the graph, so not differentiable."""
    return record(x.data**2, (x,), lambda g, out: (ag.Tensor(2 * x.data * g.data),),
                  "frozen_square")


def test_gradcheck_rejects_a_wrong_vjp_naming_input_index_and_values():
    x = ag.Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    y = ag.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(ag.GradcheckError) as error:
        ag.gradcheck(lambda a, b: a + square_with_half_vjp(b), [x, y])
    message = str(error.value)
    assert "input 1" in message and re.search(r"index \(\d+,\)", message)
    analytic = float(re.search(r"analytic (\S+)", message).group(1).rstrip(","))
    numeric = float(re.search(r"numeric (\S+)", message).group(1))
    np.testing.assert_allclose(analytic, numeric / 2, rtol=1e-6)


def test_gradcheck_order_2_rejects_a_vjp_that_is_not_differentiable():
    x = ag.Tensor(np.array([0.5, -1.5]), requires_grad=True)
    assert ag.gradcheck(square_with_frozen_vjp, [x], order=1)
    with pytest.raises(ag.GradcheckError, match="second order"):
        ag.gradcheck(square_with_frozen_vjp, [x], order=2)


@given(n=st.integers(1, 5), seed=seeds)
def test_hessian_vector_product_of_quadratic_form_is_symmetrised_matrix_times_v(n, seed):
    """f(x) = xᵀAx has ∇f = (A + Aᵀ)x and Hessian A + Aᵀ, so ∇⟨∇f, v⟩ = (A + Aᵀ)v."""
    rng = np.random.default_rng(seed)
    matrix, v = rng.standard_normal((n, n)), rng.standard_normal(n)
    x = ag.Tensor(rng.standard_normal(n), requires_grad=True)
    f = x @ (ag.Tensor(matrix) @ x)
    gradient, = ag.grad(f, [x], create_graph=True)
    np.testing.assert_allclose(gradient.data, (matrix + matrix.T) @ x.data, rtol=1e-10)
    hvp, = ag.grad((gradient * v).sum(), [x])
    np.testing.assert_allclose(hvp.data, (matrix + matrix.T) @ v, rtol=1e-10, atol=1e-12)
