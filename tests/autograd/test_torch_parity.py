"""Parity with PyTorch in float64: forward values, gradients, and double backward.

Each op runs on the same inputs in both libraries; the gradient is that of ⟨out, r⟩ for a
random r. Double backward follows the gradient-penalty path of a discriminator:
∂/∂θ ‖∂D(x)/∂x‖².
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from tests.autograd.values import (
    away_from_zero,
    broadcast_pairs,
    conv_settings,
    distinct_off_lattice,
    expandable_shapes,
    matmul_shapes,
    near_lattice,
    nonscalar_shapes,
    normal,
    pool_settings,
    positive,
    seeds,
    small_shapes,
    tensor,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional


def to_torch(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def assert_parity(ours_fn, torch_fn, arrays, rng: np.random.Generator) -> None:
    """Same forward value and same gradient of ⟨out, r⟩ with respect to every input."""
    ours_inputs = [tensor(a) for a in arrays]
    torch_inputs = [to_torch(a) for a in arrays]
    ours, theirs = ours_fn(*ours_inputs), torch_fn(*torch_inputs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    direction = rng.standard_normal(ours.shape)
    (ours * direction).sum().backward()
    (theirs * torch.tensor(direction)).sum().backward()
    for position, (mine, reference) in enumerate(zip(ours_inputs, torch_inputs)):
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"gradient of input {position}")


UNARY = {
    "neg": (ag.neg, torch.neg, normal),
    "exp": (ag.exp, torch.exp, normal),
    "log": (ag.log, torch.log, positive),
    "log1p": (ag.log1p, torch.log1p, positive),
    "sqrt": (ag.sqrt, torch.sqrt, positive),
    "abs": (ag.abs, torch.abs, away_from_zero),
    "tanh": (ag.tanh, torch.tanh, normal),
    "sigmoid": (ag.sigmoid, torch.sigmoid, normal),
    "relu": (ag.relu, torch.relu, away_from_zero),
    "leaky_relu": (lambda x: ag.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2),
                   away_from_zero),
    "softplus": (ag.softplus, F.softplus, normal),
    "clip": (lambda x: ag.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5),
             distinct_off_lattice),
    "clip_low_only": (lambda x: ag.clip(x, low=-0.5), lambda x: torch.clamp(x, min=-0.5),
                      distinct_off_lattice),
    "power_scalar": (lambda x: x**-1.5, lambda x: x**-1.5, positive),
    "power_integer": (lambda x: x**3, lambda x: x**3, normal),
    "scalar_base_power": (lambda x: 2.0**x, lambda x: 2.0**x, normal),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=small_shapes, seed=seeds)
def test_unary_matches_torch(name, shape, seed):
    ours, theirs, make = UNARY[name]
    rng = np.random.default_rng(seed)
    assert_parity(ours, theirs, [make(rng, shape)], rng)


def test_kinks_take_torch_subgradients():
    """At the kink itself: relu'(0) = 0, |x|'(0) = 0, leaky_relu'(0) = slope, clip passes
    the gradient at its bounds."""
    x = np.array([-0.5, 0.0, 0.5, 1.0])
    rng = np.random.default_rng(0)
    assert_parity(ag.relu, torch.relu, [x], rng)
    assert_parity(ag.abs, torch.abs, [x], rng)
    assert_parity(lambda t: ag.leaky_relu(t, 0.1), lambda t: F.leaky_relu(t, 0.1), [x], rng)
    assert_parity(lambda t: ag.clip(t, -0.5, 0.5), lambda t: torch.clamp(t, -0.5, 0.5), [x], rng)


BINARY = {
    "add": (ag.add, torch.add, normal, normal),
    "sub": (ag.sub, torch.sub, normal, normal),
    "mul": (ag.mul, torch.mul, normal, normal),
    "div": (ag.div, torch.div, normal, away_from_zero),
    "power": (ag.power, torch.pow, positive, normal),
    "maximum": (ag.maximum, torch.maximum, distinct_off_lattice, near_lattice),
    "minimum": (ag.minimum, torch.minimum, distinct_off_lattice, near_lattice),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=broadcast_pairs, seed=seeds)
def test_binary_matches_torch_with_broadcasting(name, shapes, seed):
    ours, theirs, make_a, make_b = BINARY[name]
    rng = np.random.default_rng(seed)
    arrays = [make_a(rng, shapes.input_shapes[0]), make_b(rng, shapes.input_shapes[1])]
    assert_parity(ours, theirs, arrays, rng)


@pytest.mark.parametrize("ours, theirs", [(ag.maximum, torch.maximum),
                                          (ag.minimum, torch.minimum)], ids=["max", "min"])
@given(shapes=broadcast_pairs, seed=seeds)
def test_elementwise_extrema_split_ties_like_torch(ours, theirs, shapes, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(-1, 2, shape).astype(float) for shape in shapes.input_shapes]
    assert_parity(ours, theirs, arrays, rng)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3),
       seed=seeds)
def test_where_matches_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    shape_c, shape_a, shape_b = shapes.input_shapes
    condition = rng.random(shape_c) < 0.5
    assert_parity(lambda a, b: ag.where(condition, a, b),
                  lambda a, b: torch.where(torch.tensor(condition), a, b),
                  [normal(rng, shape_a), normal(rng, shape_b)], rng)


def torch_dim(axis, ndim: int):
    return tuple(range(ndim)) if axis is None else axis


REDUCTIONS = {
    "sum": (lambda x, a, k: x.sum(a, k), lambda x, d, k: torch.sum(x, d, keepdim=k)),
    "mean": (lambda x, a, k: x.mean(a, k), lambda x, d, k: torch.mean(x, d, keepdim=k)),
    "var": (lambda x, a, k: x.var(a, k), lambda x, d, k: torch.var(x, d, correction=0,
                                                                  keepdim=k)),
    "max": (lambda x, a, k: x.max(a, k), lambda x, d, k: torch.amax(x, d, keepdim=k)),
    "min": (lambda x, a, k: x.min(a, k), lambda x, d, k: torch.amin(x, d, keepdim=k)),
    "logsumexp": (lambda x, a, k: ag.logsumexp(x, a, k),
                  lambda x, d, k: torch.logsumexp(x, d, keepdim=k)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), shape=nonscalar_shapes, keepdims=st.booleans(), ties=st.booleans(),
       seed=seeds)
def test_reduction_matches_torch_including_ties(name, data, shape, keepdims, ties, seed):
    """Tied maxima share the gradient evenly, as torch.amax/amin."""
    ours, theirs = REDUCTIONS[name]
    ndim = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                               hnp.valid_tuple_axes(ndim, min_size=1)), label="axis")
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, shape).astype(float) if ties else normal(rng, shape)
    assert_parity(lambda t: ours(t, axis, keepdims),
                  lambda t: theirs(t, torch_dim(axis, ndim), keepdims), [x], rng)


@pytest.mark.parametrize("ours, theirs", [(ag.softmax, torch.softmax),
                                          (ag.log_softmax, torch.log_softmax)],
                         ids=["softmax", "log_softmax"])
@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_softmax_family_matches_torch(ours, theirs, data, shape, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    assert_parity(lambda t: ours(t, axis), lambda t: theirs(t, axis), [normal(rng, shape)], rng)


@given(shapes=matmul_shapes(), seed=seeds)
def test_matmul_matches_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    assert_parity(ag.matmul, torch.matmul, [normal(rng, s) for s in shapes], rng)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_reshape_and_permute_match_torch(data, shape, seed):
    axes = tuple(data.draw(st.permutations(range(len(shape))), label="axes"))
    rng = np.random.default_rng(seed)
    x = normal(rng, shape)
    assert_parity(lambda t: t.reshape(shape[::-1]), lambda t: t.reshape(shape[::-1]), [x], rng)
    assert_parity(lambda t: t.permute(*axes), lambda t: t.permute(*axes), [x], rng)


@given(shapes=expandable_shapes(), seed=seeds)
def test_expand_matches_torch(shapes, seed):
    source, target = shapes
    rng = np.random.default_rng(seed)
    assert_parity(lambda t: t.expand(*target), lambda t: t.expand(target),
                  [normal(rng, source)], rng)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_basic_indexing_matches_torch(data, shape, seed):
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True), label="index")
    parts = index if isinstance(index, tuple) else (index,)
    assume(all(p.step is None or p.step > 0 for p in parts if isinstance(p, slice)))
    rng = np.random.default_rng(seed)
    assert_parity(lambda t: t[index], lambda t: t[index], [normal(rng, shape)], rng)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_integer_array_indexing_accumulates_like_torch(data, shape, seed):
    index = data.draw(hnp.integer_array_indices(
        shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)),
        label="index")
    rng = np.random.default_rng(seed)
    assert_parity(lambda t: t[index], lambda t: t[tuple(torch.tensor(i) for i in index)],
                  [normal(rng, shape)], rng)


@given(data=st.data(), shape=nonscalar_shapes, pieces=st.integers(1, 3), seed=seeds)
def test_concat_stack_split_match_torch(data, shape, pieces, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    arrays = [normal(rng, shape) for _ in range(pieces)]
    assert_parity(lambda *ts: ag.concat(list(ts), axis), lambda *ts: torch.cat(ts, axis),
                  arrays, rng)
    assert_parity(lambda *ts: ag.stack(list(ts), axis), lambda *ts: torch.stack(ts, axis),
                  arrays, rng)
    cuts = data.draw(st.lists(st.integers(0, shape[axis]), max_size=3).map(sorted), "cuts")
    assert_parity(lambda t: ag.concat([p * (i + 1) for i, p in
                                       enumerate(ag.split(t, cuts, axis))], axis),
                  lambda t: torch.cat([p * (i + 1) for i, p in
                                       enumerate(torch.tensor_split(t, cuts, axis))], axis),
                  [arrays[0]], rng)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_unstack_matches_torch_unbind(data, shape, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    assert_parity(lambda t: ag.stack([p * (i + 1) for i, p in enumerate(ag.unstack(t, axis))]),
                  lambda t: torch.stack([p * (i + 1) for i, p in
                                         enumerate(torch.unbind(t, axis))]),
                  [normal(rng, shape)], rng)


@given(data=st.data(), shape=nonscalar_shapes, value=st.floats(-2, 2), seed=seeds)
def test_pad_matches_torch(data, shape, value, seed):
    widths = [data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in shape]
    torch_pads = [w for pair in reversed(widths) for w in pair]  # last axis first
    rng = np.random.default_rng(seed)
    assert_parity(lambda t: ag.pad(t, widths, value),
                  lambda t: F.pad(t, torch_pads, value=value), [normal(rng, shape)], rng)


@given(s=conv_settings(), seed=seeds)
def test_conv2d_matches_torch(s, seed):
    rng = np.random.default_rng(seed)
    arrays = [normal(rng, (s["batch"], s["in_channels"]) + s["size"]),
              normal(rng, (s["out_channels"], s["in_channels"]) + s["kernel"])]
    if s["bias"]:
        arrays.append(normal(rng, (s["out_channels"],)))
    hyper = {"stride": s["stride"], "padding": s["padding"], "dilation": s["dilation"]}
    assert_parity(lambda *ts: ag.conv2d(*ts, **hyper), lambda *ts: F.conv2d(*ts, **hyper),
                  arrays, rng)


@given(s=conv_settings(transposed=True), seed=seeds)
def test_conv_transpose2d_matches_torch(s, seed):
    rng = np.random.default_rng(seed)
    arrays = [normal(rng, (s["batch"], s["in_channels"]) + s["size"]),
              normal(rng, (s["in_channels"], s["out_channels"]) + s["kernel"])]
    if s["bias"]:
        arrays.append(normal(rng, (s["out_channels"],)))
    hyper = {"stride": s["stride"], "padding": s["padding"], "dilation": s["dilation"],
             "output_padding": s["output_padding"]}
    assert_parity(lambda *ts: ag.conv_transpose2d(*ts, **hyper),
                  lambda *ts: F.conv_transpose2d(*ts, **hyper), arrays, rng)


@given(s=conv_settings(), seed=seeds)
def test_conv2d_weight_matches_torch(s, seed):
    rng = np.random.default_rng(seed)
    x = normal(rng, (s["batch"], s["in_channels"]) + s["size"])
    weight_shape = (s["out_channels"], s["in_channels"]) + s["kernel"]
    hyper = {"stride": s["stride"], "padding": s["padding"], "dilation": s["dilation"]}
    out_shape = ag.conv2d(x, np.zeros(weight_shape), **hyper).shape
    assert_parity(lambda a, g: ag.conv2d_weight(a, g, s["kernel"], **hyper),
                  lambda a, g: torch.nn.grad.conv2d_weight(a, weight_shape, g, **hyper),
                  [x, normal(rng, out_shape)], rng)


@pytest.mark.parametrize("name", ["max", "avg"])
@given(s=pool_settings(), seed=seeds)
def test_pooling_matches_torch(name, s, seed):
    rng = np.random.default_rng(seed)
    x = distinct_off_lattice(rng, (s["batch"], s["channels"]) + s["size"])
    ours, theirs = (ag.max_pool2d, F.max_pool2d) if name == "max" else (ag.avg_pool2d,
                                                                       F.avg_pool2d)
    args = (s["kernel"], s["stride"], s["padding"])
    assert_parity(lambda t: ours(t, *args), lambda t: theirs(t, *args), [x], rng)


@given(shape=hnp.array_shapes(min_dims=4, max_dims=4, max_side=3), scale=st.integers(1, 3),
       seed=seeds)
def test_upsample_nearest_matches_torch(shape, scale, seed):
    rng = np.random.default_rng(seed)
    assert_parity(lambda t: ag.upsample_nearest(t, scale),
                  lambda t: F.interpolate(t, scale_factor=scale, mode="nearest"),
                  [normal(rng, shape)], rng)


# ---- double backward: the gradient penalty ‖∂D(x)/∂x‖² differentiated w.r.t. θ --------

def matmul_critic(lib, x, w1, w2):
    return lib["softplus"](x @ w1) @ w2


def leaky_relu_critic(lib, x, w1, w2):
    return lib["leaky_relu"](x @ w1, 0.2) @ w2


def softplus_critic(lib, x, w1, w2):
    return lib["softplus"](x * w1.sum() + 0.3) * w2.sum()


def conv2d_critic(lib, x, w1, w2):
    hidden = lib["tanh"](lib["conv2d"](x, w1, stride=2, padding=1, dilation=1))
    return lib["conv2d"](hidden, w2, padding=1)


def conv_transpose2d_critic(lib, x, w1, w2):
    hidden = lib["tanh"](lib["conv_transpose2d"](x, w1, stride=2, padding=1,
                                                 output_padding=1))
    return lib["conv_transpose2d"](hidden, w2, padding=1)


def discriminator(lib, x, w1, w2):
    """conv2d → leaky_relu → conv_transpose2d → softplus → flatten → matmul."""
    hidden = lib["leaky_relu"](lib["conv2d"](x, w1, stride=2, padding=1), 0.2)
    hidden = lib["softplus"](lib["conv_transpose2d"](hidden, w2, stride=2, padding=1,
                                                     output_padding=1))
    return hidden.reshape(x.shape[0], -1) @ lib["readout"]


OURS = {"softplus": ag.softplus, "leaky_relu": ag.leaky_relu, "tanh": ag.tanh,
        "conv2d": ag.conv2d, "conv_transpose2d": ag.conv_transpose2d}
THEIRS = {"softplus": F.softplus, "leaky_relu": F.leaky_relu, "tanh": torch.tanh,
          "conv2d": F.conv2d, "conv_transpose2d": F.conv_transpose2d}

# name -> (critic, x shape, w1 shape, w2 shape)
CRITICS = {
    "matmul": (matmul_critic, (3, 4), (4, 5), (5, 2)),
    "leaky_relu": (leaky_relu_critic, (3, 4), (4, 5), (5, 2)),
    "softplus": (softplus_critic, (3, 4), (4,), (2,)),
    "conv2d": (conv2d_critic, (2, 2, 5, 5), (3, 2, 3, 3), (1, 3, 3, 3)),
    "conv_transpose2d": (conv_transpose2d_critic, (2, 2, 3, 3), (2, 3, 3, 3), (3, 1, 3, 3)),
    "discriminator": (discriminator, (2, 1, 6, 6), (3, 1, 3, 3), (3, 2, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(CRITICS))
@given(seed=seeds)
def test_gradient_penalty_double_backward_matches_torch(name, seed):
    critic, x_shape, w1_shape, w2_shape = CRITICS[name]
    rng = np.random.default_rng(seed)
    arrays = [normal(rng, x_shape), normal(rng, w1_shape) * 0.5, normal(rng, w2_shape) * 0.5]
    readout = normal(rng, (2 * 6 * 6, 1))
    ours_lib = dict(OURS, readout=ag.Tensor(readout))
    theirs_lib = dict(THEIRS, readout=torch.tensor(readout))

    x, w1, w2 = (tensor(a) for a in arrays)
    gx, = ag.grad(critic(ours_lib, x, w1, w2).sum(), [x], create_graph=True)
    ((gx * gx).sum()).backward()

    tx, tw1, tw2 = (to_torch(a) for a in arrays)
    tgx, = torch.autograd.grad(critic(theirs_lib, tx, tw1, tw2).sum(), [tx], create_graph=True)
    ((tgx * tgx).sum()).backward()

    np.testing.assert_allclose(gx.data, tgx.detach().numpy(), rtol=1e-9, atol=1e-12)
    for mine, reference in [(x, tx), (w1, tw1), (w2, tw2)]:
        # A penalty that does not depend on x (piecewise-linear critic): we leave x.grad
        # unset where torch stores zeros.
        ours_grad = np.zeros(mine.shape) if mine.grad is None else mine.grad
        np.testing.assert_allclose(ours_grad, reference.grad.numpy(), rtol=1e-9, atol=1e-12)


def torch_lstm_cell(gates, c, axis):
    i, f, g, o = torch.chunk(gates, 4, axis)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def torch_gru_cell(x_gates, h_gates, h, axis):
    x_r, x_z, x_n = torch.chunk(x_gates, 3, axis)
    h_r, h_z, h_n = torch.chunk(h_gates, 3, axis)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


@given(data=st.data(), seed=seeds)
def test_fused_lstm_and_gru_cells_match_torch_equations(data, seed):
    shape = data.draw(nonscalar_shapes, label="block shape")
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    gates4 = normal(rng, shape[:axis] + (4 * shape[axis],) + shape[axis + 1:])
    gates3 = normal(rng, shape[:axis] + (3 * shape[axis],) + shape[axis + 1:])
    assert_parity(lambda g, c: ag.concat(ag.lstm_cell(g, c, axis), axis),
                  lambda g, c: torch.cat(torch_lstm_cell(g, c, axis), axis),
                  [gates4, normal(rng, shape)], rng)
    assert_parity(lambda x, hg, h: ag.gru_cell(x, hg, h, axis),
                  lambda x, hg, h: torch_gru_cell(x, hg, h, axis),
                  [gates3, normal(rng, gates3.shape), normal(rng, shape)], rng)
