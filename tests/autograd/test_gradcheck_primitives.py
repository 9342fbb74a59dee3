"""Every primitive's gradient against central finite differences, first and second order.

Shapes come from hypothesis (broadcasting pairs for binary ops); values are kept away from
kinks so the finite differences are valid (see ``values.py``). Second order is checked for
every primitive: for the piecewise-linear ones (relu, abs, clip, max, ...) it checks that
their recorded VJP has the zero second derivative it should.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
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


def check(fn, *arrays: np.ndarray, order: int = 2) -> None:
    assert ag.gradcheck(fn, [tensor(a) for a in arrays], order=order)


def log1p_domain(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(-0.5, 2.0, shape)


UNARY = {
    "neg": (ag.neg, normal),
    "neg_operator": (lambda x: -x, normal),
    "exp": (ag.exp, normal),
    "log": (ag.log, positive),
    "log1p": (ag.log1p, log1p_domain),
    "sqrt": (ag.sqrt, positive),
    "abs": (ag.abs, away_from_zero),
    "tanh": (ag.tanh, normal),
    "sigmoid": (ag.sigmoid, normal),
    "relu": (ag.relu, away_from_zero),
    "leaky_relu": (lambda x: ag.leaky_relu(x, 0.2), away_from_zero),
    "softplus": (ag.softplus, normal),
    "clip": (lambda x: ag.clip(x, -0.5, 0.5), distinct_off_lattice),
    "clip_low_only": (lambda x: ag.clip(x, low=-0.5), distinct_off_lattice),
    "clip_high_only": (lambda x: ag.clip(x, high=0.5), distinct_off_lattice),
    "square": (lambda x: x**2, normal),
    "cube": (lambda x: ag.power(x, 3), normal),
    "power_fractional": (lambda x: x**-1.5, positive),
    "scalar_base_power": (lambda x: 2.0**x, normal),
    "scalar_reflected_ops": (lambda x: (3.0 - x) / 2 + 1 / (x * x + 1) - 2 * x, normal),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=small_shapes, seed=seeds)
def test_unary_gradient_matches_finite_differences(name, shape, seed):
    fn, make = UNARY[name]
    check(fn, make(np.random.default_rng(seed), shape))


BINARY = {
    "add": (ag.add, normal, normal),
    "sub": (ag.sub, normal, normal),
    "mul": (ag.mul, normal, normal),
    "div": (ag.div, normal, away_from_zero),
    "power": (ag.power, positive, normal),
    "maximum": (ag.maximum, distinct_off_lattice, near_lattice),
    "minimum": (ag.minimum, distinct_off_lattice, near_lattice),
    "operators": (lambda a, b: (a + b) * a - b / (a * a + 1), normal, normal),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=broadcast_pairs, seed=seeds)
def test_binary_gradient_matches_finite_differences_with_broadcasting(name, shapes, seed):
    fn, make_a, make_b = BINARY[name]
    rng = np.random.default_rng(seed)
    shape_a, shape_b = shapes.input_shapes
    check(fn, make_a(rng, shape_a), make_b(rng, shape_b))


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3),
       seed=seeds)
def test_where_gradient_matches_finite_differences_with_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    shape_c, shape_a, shape_b = shapes.input_shapes
    condition = rng.random(shape_c) < 0.5
    check(lambda a, b: ag.where(condition, a, b), normal(rng, shape_a), normal(rng, shape_b))


def reduction_axes(ndim: int) -> st.SearchStrategy:
    return st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        hnp.valid_tuple_axes(ndim, min_size=1),
    )


REDUCTIONS = {
    "sum": (lambda x, axis, keepdims: x.sum(axis, keepdims), normal),
    "mean": (lambda x, axis, keepdims: x.mean(axis, keepdims), normal),
    "var": (lambda x, axis, keepdims: x.var(axis, keepdims), normal),
    "max": (lambda x, axis, keepdims: x.max(axis, keepdims), distinct_off_lattice),
    "min": (lambda x, axis, keepdims: x.min(axis, keepdims), distinct_off_lattice),
    "logsumexp": (lambda x, axis, keepdims: ag.logsumexp(x, axis, keepdims), normal),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), shape=nonscalar_shapes, keepdims=st.booleans(), seed=seeds)
def test_reduction_gradient_matches_finite_differences(name, data, shape, keepdims, seed):
    fn, make = REDUCTIONS[name]
    axis = data.draw(reduction_axes(len(shape)), label="axis")
    check(lambda x: fn(x, axis, keepdims), make(np.random.default_rng(seed), shape))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3),
       keepdims=st.booleans(), seed=seeds)
def test_unbiased_var_gradient_matches_finite_differences(shape, keepdims, seed):
    check(lambda x: x.var(0, keepdims, ddof=1), normal(np.random.default_rng(seed), shape))


@pytest.mark.parametrize("fn", [ag.softmax, ag.log_softmax], ids=["softmax", "log_softmax"])
@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_softmax_family_gradient_matches_finite_differences(fn, data, shape, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    check(lambda x: fn(x, axis), normal(np.random.default_rng(seed), shape))


@given(shapes=matmul_shapes(), seed=seeds)
def test_matmul_gradient_matches_finite_differences(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = normal(rng, shapes[0]), normal(rng, shapes[1])
    result = ag.matmul(tensor(a), tensor(b))
    assert result.shape == np.matmul(a, b).shape
    check(ag.matmul, a, b)
    check(lambda x, y: x @ y, a, b, order=1)


@given(shape=small_shapes, seed=seeds)
def test_reshape_gradient_matches_finite_differences(shape, seed):
    x = normal(np.random.default_rng(seed), shape)
    check(lambda t: ag.reshape(t, shape[::-1]), x)
    check(lambda t: t.reshape(-1), x)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_transpose_and_permute_gradient_matches_finite_differences(data, shape, seed):
    axes = tuple(data.draw(st.permutations(range(len(shape))), label="axes"))
    x = normal(np.random.default_rng(seed), shape)
    check(lambda t: ag.transpose(t, axes), x)
    check(lambda t: t.permute(*axes), x)
    check(lambda t: t.T, x)


@given(shapes=expandable_shapes(), seed=seeds)
def test_expand_gradient_matches_finite_differences(shapes, seed):
    source, target = shapes
    x = normal(np.random.default_rng(seed), source)
    check(lambda t: ag.broadcast_to(t, target), x)
    check(lambda t: t.expand(*target), x)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_basic_indexing_gradient_matches_finite_differences(data, shape, seed):
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True), label="index")
    x = normal(np.random.default_rng(seed), shape)
    assert ag.Tensor(x)[index].shape == x[index].shape
    check(lambda t: t[index], x)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_integer_array_indexing_gradient_matches_finite_differences(data, shape, seed):
    index = data.draw(hnp.integer_array_indices(
        shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)),
        label="index")
    x = normal(np.random.default_rng(seed), shape)
    check(lambda t: t[index], x)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_repeated_indices_accumulate_their_gradients(data, shape, seed):
    rows = data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=6), "rows")
    x = tensor(normal(np.random.default_rng(seed), shape))
    x[np.array(rows)].sum().backward()
    counts = np.bincount(rows, minlength=shape[0]).astype(float)
    expected = np.broadcast_to(counts.reshape((-1,) + (1,) * (len(shape) - 1)), shape)
    np.testing.assert_array_equal(x.grad, expected)
    check(lambda t: t[np.array(rows)] * 1.5, x.data.copy())
    if len(shape) > 1:
        check(lambda t: t[:, np.array(rows) % shape[1]], x.data.copy())


@given(data=st.data(), shape=nonscalar_shapes, pieces=st.integers(1, 3), seed=seeds)
def test_concat_gradient_matches_finite_differences(data, shape, pieces, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    arrays = []
    for _ in range(pieces):
        piece_shape = list(shape)
        piece_shape[axis] = data.draw(st.integers(1, 3), label="length")
        arrays.append(normal(rng, tuple(piece_shape)))
    check(lambda *ts: ag.concat(list(ts), axis=axis), *arrays)


@given(data=st.data(), shape=small_shapes, pieces=st.integers(1, 3), seed=seeds)
def test_stack_gradient_matches_finite_differences(data, shape, pieces, seed):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    rng = np.random.default_rng(seed)
    arrays = [normal(rng, shape) for _ in range(pieces)]
    check(lambda *ts: ag.stack(list(ts), axis=axis), *arrays)


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_split_gradient_matches_finite_differences(data, shape, seed):
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    size = shape[axis]
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    cuts = st.lists(st.integers(1, size), max_size=2).map(sorted)
    spec = data.draw(st.one_of(st.sampled_from(divisors), cuts), label="sections")

    def pieces_weighted(t):
        pieces = ag.split(t, spec, axis=axis)
        return ag.concat([p.reshape(-1) * (i + 1) for i, p in enumerate(pieces)])

    check(pieces_weighted, normal(np.random.default_rng(seed), shape))


@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_unstack_with_unused_slices_gradient_matches_finite_differences(data, shape, seed):
    """Slices that reach no output get a zero gradient from the one concatenating VJP."""
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    used = data.draw(st.sets(st.integers(0, shape[axis] - 1), min_size=1), label="used")

    def used_slices_weighted(t):
        slices = ag.unstack(t, axis)
        return ag.stack([slices[i] * (i + 1) for i in sorted(used)])

    check(used_slices_weighted, normal(np.random.default_rng(seed), shape))


@given(data=st.data(), shape=nonscalar_shapes, value=st.floats(-2, 2), seed=seeds)
def test_pad_gradient_matches_finite_differences(data, shape, value, seed):
    widths = [data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in shape]
    x = normal(np.random.default_rng(seed), shape)
    assert ag.pad(ag.Tensor(x), widths, value).shape == np.pad(x, widths).shape
    check(lambda t: ag.pad(t, widths, value), x)


def conv_arrays(rng: np.random.Generator, s: dict) -> tuple[np.ndarray, np.ndarray]:
    x = normal(rng, (s["batch"], s["in_channels"]) + s["size"])
    w = normal(rng, (s["out_channels"], s["in_channels"]) + s["kernel"])
    return x, w


@given(s=conv_settings(), seed=seeds)
def test_conv2d_gradient_matches_finite_differences(s, seed):
    rng = np.random.default_rng(seed)
    x, w = conv_arrays(rng, s)
    hyper = {"stride": s["stride"], "padding": s["padding"], "dilation": s["dilation"]}
    if s["bias"]:
        check(lambda a, b, c: ag.conv2d(a, b, c, **hyper), x, w, normal(rng, w.shape[:1]))
    else:
        check(lambda a, b: ag.conv2d(a, b, **hyper), x, w)


@given(s=conv_settings(transposed=True), seed=seeds)
def test_conv_transpose2d_gradient_matches_finite_differences(s, seed):
    rng = np.random.default_rng(seed)
    x = normal(rng, (s["batch"], s["in_channels"]) + s["size"])
    w = normal(rng, (s["in_channels"], s["out_channels"]) + s["kernel"])
    hyper = {"stride": s["stride"], "padding": s["padding"], "dilation": s["dilation"],
             "output_padding": s["output_padding"]}
    if s["bias"]:
        check(lambda a, b, c: ag.conv_transpose2d(a, b, c, **hyper), x, w,
              normal(rng, w.shape[1:2]))
    else:
        check(lambda a, b: ag.conv_transpose2d(a, b, **hyper), x, w)


@given(s=conv_settings(), seed=seeds)
def test_conv2d_weight_gradient_matches_finite_differences(s, seed):
    rng = np.random.default_rng(seed)
    x, w = conv_arrays(rng, s)
    hyper = {"stride": s["stride"], "padding": s["padding"], "dilation": s["dilation"]}
    out_shape = ag.conv2d(x, w, **hyper).shape
    check(lambda a, g: ag.conv2d_weight(a, g, s["kernel"], **hyper), x, normal(rng, out_shape))


@given(s=pool_settings(), seed=seeds)
def test_max_pool2d_gradient_matches_finite_differences(s, seed):
    x = distinct_off_lattice(np.random.default_rng(seed),
                             (s["batch"], s["channels"]) + s["size"])
    check(lambda t: ag.max_pool2d(t, s["kernel"], s["stride"], s["padding"]), x)


@given(s=pool_settings(), seed=seeds)
def test_avg_pool2d_gradient_matches_finite_differences(s, seed):
    x = normal(np.random.default_rng(seed), (s["batch"], s["channels"]) + s["size"])
    check(lambda t: ag.avg_pool2d(t, s["kernel"], s["stride"], s["padding"]), x)


@given(shape=hnp.array_shapes(min_dims=4, max_dims=4, max_side=3), scale=st.integers(1, 3),
       seed=seeds)
def test_upsample_nearest_gradient_matches_finite_differences(shape, scale, seed):
    check(lambda t: ag.upsample_nearest(t, scale), normal(np.random.default_rng(seed), shape))


def cell_case(data: st.DataObject, blocks: int, seed: int) -> tuple:
    """Gate pre-activations with ``blocks`` blocks along a drawn axis, and one block's state."""
    shape = data.draw(nonscalar_shapes, label="block shape")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    gate_shape = list(shape)
    gate_shape[axis] *= blocks
    rng = np.random.default_rng(seed)
    return rng, axis, tuple(gate_shape), shape


@pytest.mark.parametrize("used", ["both", "hidden", "cell"])
@given(data=st.data(), seed=seeds)
def test_lstm_cell_gradient_matches_finite_differences(data, used, seed):
    """Either result may go unused: its gradient arrives as None and counts as zero."""
    rng, axis, gate_shape, shape = cell_case(data, 4, seed)
    pick = {"both": lambda h, c: h * 2.0 + c, "hidden": lambda h, c: h, "cell": lambda h, c: c}

    def cell_results(gates, c):
        return pick[used](*ag.lstm_cell(gates, c, axis))

    check(cell_results, normal(rng, gate_shape), normal(rng, shape))


@given(data=st.data(), seed=seeds)
def test_gru_cell_gradient_matches_finite_differences(data, seed):
    rng, axis, gate_shape, shape = cell_case(data, 3, seed)
    check(lambda x_gates, h_gates, h: ag.gru_cell(x_gates, h_gates, h, axis),
          normal(rng, gate_shape), normal(rng, gate_shape), normal(rng, shape))


@pytest.mark.parametrize("used", ["all", "outputs", "last"])
@given(length=st.integers(1, 3), hidden=st.integers(1, 2), batch=st.integers(1, 2),
       reverse=st.booleans(), seed=seeds)
def test_lstm_sequence_gradient_matches_finite_differences(used, length, hidden, batch,
                                                           reverse, seed):
    """All four inputs, to second order; unused results arrive as None (zeros)."""
    rng = np.random.default_rng(seed)
    pick = {"all": lambda out, h, c: ag.concat([out.reshape(-1), h.reshape(-1) * 2.0,
                                                c.reshape(-1)]),
            "outputs": lambda out, h, c: out, "last": lambda out, h, c: c}

    def run(x_gates, h0, c0, weight_hh):
        return pick[used](*ag.lstm_sequence(x_gates, h0, c0, weight_hh, reverse=reverse))

    check(run, normal(rng, (4 * hidden, length, batch)), normal(rng, (hidden, batch)),
          normal(rng, (hidden, batch)), normal(rng, (4 * hidden, hidden)))
