"""Convolution, pooling and upsampling against plain-loop references, and the adjoint identity.

The references below follow the definitions term by term (one output pixel or one input
pixel at a time), sharing nothing with the im2col/col2im code under test.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import conv
from tests.autograd.values import conv_settings, normal, pool_settings, seeds

# The columns put the batch last for narrow outputs and first for wide ones (conv.NARROW);
# the reference tests run every drawn case both ways, batch first one image per chunk.
LAYOUTS = pytest.mark.parametrize("narrow", [0, 10**6], ids=["batch-first", "batch-last"])


@contextlib.contextmanager
def layout(narrow, small_copy=None, chunk=1):
    """conv.NARROW set, and conv.SMALL_COPY (below which the batch moves last in one
    copy) and conv.CHUNK (images per pass, batch first; 1 so that the drawn batches of
    two split)."""
    previous = conv.NARROW, conv.SMALL_COPY, conv.CHUNK
    conv.NARROW, conv.CHUNK = narrow, chunk
    conv.SMALL_COPY = previous[1] if small_copy is None else small_copy
    try:
        yield
    finally:
        conv.NARROW, conv.SMALL_COPY, conv.CHUNK = previous


def conv2d_loops(x, w, bias, stride, padding, dilation):
    """out[n, o, i, j] = b[o] + Σ_c Σ_p Σ_q w[o, c, p, q] · xpad[n, c, i·s + p·d, j·s + q·d]."""
    n, channels, height, width = x.shape
    out_channels, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    padded = np.zeros((n, channels, height + 2 * ph, width + 2 * pw))
    padded[:, :, ph:ph + height, pw:pw + width] = x
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, out_channels, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            for p in range(kh):
                for q in range(kw):
                    pixel = padded[:, :, i * sh + p * dh, j * sw + q * dw]  # (N, C)
                    out[:, :, i, j] += pixel @ w[:, :, p, q].T
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def conv_transpose2d_loops(x, w, bias, stride, padding, output_padding, dilation):
    """Each input pixel (i, j) scatters x[n, :, i, j] · w[:, :, p, q] to (i·s + p·d − pad,
    j·s + q·d − pad) of the output, whose size is (H−1)s − 2pad + d(k−1) + output_padding + 1."""
    n, _, height, width = x.shape
    _, out_channels, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    out_h = (height - 1) * sh - 2 * ph + dh * (kh - 1) + output_padding[0] + 1
    out_w = (width - 1) * sw - 2 * pw + dw * (kw - 1) + output_padding[1] + 1
    out = np.zeros((n, out_channels, out_h, out_w))
    for i in range(height):
        for j in range(width):
            for p in range(kh):
                for q in range(kw):
                    row, col = i * sh + p * dh - ph, j * sw + q * dw - pw
                    if 0 <= row < out_h and 0 <= col < out_w:
                        out[:, :, row, col] += x[:, :, i, j] @ w[:, :, p, q]
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def pool_loops(x, kernel, stride, padding, reducer, fill):
    """reducer over every window of x padded with ``fill``."""
    stride = kernel if stride is None else stride
    n, channels, height, width = x.shape
    padded = np.full((n, channels, height + 2 * padding[0], width + 2 * padding[1]), fill)
    padded[:, :, padding[0]:padding[0] + height, padding[1]:padding[1] + width] = x
    out_h = (padded.shape[2] - kernel[0]) // stride[0] + 1
    out_w = (padded.shape[3] - kernel[1]) // stride[1] + 1
    out = np.zeros((n, channels, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride[0], j * stride[1]
            window = padded[:, :, top:top + kernel[0], left:left + kernel[1]]
            out[:, :, i, j] = reducer(window, axis=(2, 3))
    return out


@LAYOUTS
@given(s=conv_settings(), seed=seeds)
def test_conv2d_equals_nested_loop_reference(s, seed, narrow):
    rng = np.random.default_rng(seed)
    x = normal(rng, (s["batch"], s["in_channels"]) + s["size"])
    w = normal(rng, (s["out_channels"], s["in_channels"]) + s["kernel"])
    bias = normal(rng, (s["out_channels"],)) if s["bias"] else None
    with layout(narrow):
        ours = ag.conv2d(x, w, bias, stride=s["stride"], padding=s["padding"],
                         dilation=s["dilation"])
    expected = conv2d_loops(x, w, bias, s["stride"], s["padding"], s["dilation"])
    np.testing.assert_allclose(ours.data, expected, rtol=1e-10, atol=1e-12)


@LAYOUTS
@given(s=conv_settings(transposed=True), seed=seeds)
# a 1×1 kernel whose dilation allows output_padding: the output outgrows the input
@example(s={"batch": 1, "in_channels": 1, "out_channels": 1, "kernel": (1, 1),
            "stride": (1, 1), "padding": (0, 0), "dilation": (2, 1), "bias": False,
            "output_padding": (1, 0), "size": (1, 1)}, seed=0)
def test_conv_transpose2d_equals_scatter_loop_reference(s, seed, narrow):
    rng = np.random.default_rng(seed)
    x = normal(rng, (s["batch"], s["in_channels"]) + s["size"])
    w = normal(rng, (s["in_channels"], s["out_channels"]) + s["kernel"])
    bias = normal(rng, (s["out_channels"],)) if s["bias"] else None
    with layout(narrow):
        ours = ag.conv_transpose2d(x, w, bias, stride=s["stride"], padding=s["padding"],
                                   output_padding=s["output_padding"], dilation=s["dilation"])
    expected = conv_transpose2d_loops(x, w, bias, s["stride"], s["padding"],
                                      s["output_padding"], s["dilation"])
    np.testing.assert_allclose(ours.data, expected, rtol=1e-10, atol=1e-12)


@LAYOUTS
@given(s=conv_settings(), seed=seeds)
def test_conv2d_and_conv_transpose2d_are_adjoint(s, seed, narrow):
    """⟨conv2d(x, w), y⟩ = ⟨x, conv_transpose2d(y, w)⟩ for every stride, padding, dilation."""
    rng = np.random.default_rng(seed)
    x = normal(rng, (s["batch"], s["in_channels"]) + s["size"])
    w = normal(rng, (s["out_channels"], s["in_channels"]) + s["kernel"])
    hyper = {"stride": s["stride"], "padding": s["padding"], "dilation": s["dilation"]}
    with layout(narrow):
        forward = ag.conv2d(x, w, **hyper).data
    y = normal(rng, forward.shape)
    # The transposed conv of y must land back on x's size: the rows that a strided conv2d
    # skipped at the end are recovered by output_padding.
    natural = [(o - 1) * st_ - 2 * p + d * (k - 1) + 1 for o, st_, p, d, k in
               zip(forward.shape[2:], s["stride"], s["padding"], s["dilation"], s["kernel"])]
    output_padding = tuple(size - nat for size, nat in zip(s["size"], natural))
    with layout(narrow):
        back = ag.conv_transpose2d(y, w, output_padding=output_padding, **hyper).data
    assert back.shape == x.shape
    left, right = np.vdot(forward, y), np.vdot(x, back)
    np.testing.assert_allclose(left, right, rtol=1e-10, atol=1e-10)


@LAYOUTS
@given(s=conv_settings(), seed=seeds)
def test_conv2d_weight_is_the_weight_gradient_of_conv2d(s, seed, narrow):
    """conv2d_weight(x, gy) = ∂⟨conv2d(x, w), gy⟩/∂w, checked against the loop reference:
    the entry (o, c, p, q) is the loop conv2d output for a one-hot weight."""
    rng = np.random.default_rng(seed)
    x = normal(rng, (s["batch"], s["in_channels"]) + s["size"])
    hyper = (s["stride"], s["padding"], s["dilation"])
    weight_shape = (s["out_channels"], s["in_channels"]) + s["kernel"]
    out_shape = conv2d_loops(x, np.zeros(weight_shape), None, *hyper).shape
    gy = normal(rng, out_shape)
    expected = np.zeros(weight_shape)
    for k in np.ndindex(weight_shape):
        one_hot = np.zeros(weight_shape)
        one_hot[k] = 1.0
        expected[k] = np.vdot(conv2d_loops(x, one_hot, None, *hyper), gy)
    with layout(narrow):
        ours = ag.conv2d_weight(x, gy, s["kernel"], stride=s["stride"], padding=s["padding"],
                                dilation=s["dilation"])
    np.testing.assert_allclose(ours.data, expected, rtol=1e-10, atol=1e-12)


@given(s=pool_settings(), seed=seeds)
def test_max_pool2d_equals_loop_reference(s, seed):
    x = normal(np.random.default_rng(seed), (s["batch"], s["channels"]) + s["size"])
    ours = ag.max_pool2d(x, s["kernel"], s["stride"], s["padding"])
    expected = pool_loops(x, s["kernel"], s["stride"], s["padding"], np.max, -np.inf)
    np.testing.assert_array_equal(ours.data, expected)


@given(s=pool_settings(), seed=seeds)
def test_avg_pool2d_equals_loop_reference_counting_padding(s, seed):
    x = normal(np.random.default_rng(seed), (s["batch"], s["channels"]) + s["size"])
    ours = ag.avg_pool2d(x, s["kernel"], s["stride"], s["padding"])
    expected = pool_loops(x, s["kernel"], s["stride"], s["padding"], np.mean, 0.0)
    np.testing.assert_allclose(ours.data, expected, rtol=1e-12, atol=1e-14)


@given(shape=hnp.array_shapes(min_dims=4, max_dims=4, max_side=3), scale=st.integers(1, 3),
       seed=seeds)
def test_upsample_nearest_repeats_each_pixel(shape, scale, seed):
    x = normal(np.random.default_rng(seed), shape)
    expected = np.repeat(np.repeat(x, scale, axis=2), scale, axis=3)
    np.testing.assert_array_equal(ag.upsample_nearest(x, scale).data, expected)


def test_max_pool2d_splits_the_gradient_between_tied_maxima():
    x = ag.Tensor(np.array([[[[1.0, 3.0], [3.0, 2.0]]]]), requires_grad=True)
    ag.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0.0, 0.5], [0.5, 0.0]]]])


@LAYOUTS
def test_batches_of_several_copy_blocks_match_the_loop_references(narrow):
    """A large batch moves last in blocks of conv.BATCH_BLOCK images (here forced at
    any size), and batch first goes through in chunks of conv.CHUNK: a batch of two
    blocks and a remainder, four chunks and a remainder, through conv2d,
    conv_transpose2d and conv2d_weight."""
    rng = np.random.default_rng(5)
    n = 2 * conv.BATCH_BLOCK + 3
    x, w = normal(rng, (n, 2, 5, 4)), normal(rng, (3, 2, 3, 2))
    hyper = ((1, 2), (1, 1), (1, 1))  # stride, padding, dilation
    expected = conv2d_loops(x, w, None, *hyper)
    gy = normal(rng, expected.shape)
    x_leaf, w_leaf = ag.Tensor(x, requires_grad=True), ag.Tensor(w, requires_grad=True)
    with layout(narrow, small_copy=0, chunk=4):
        ours = ag.conv2d(x, w, stride=hyper[0], padding=hyper[1])
        # conv2d's own VJP, which hands g's rows to both products
        (ag.conv2d(x_leaf, w_leaf, stride=hyper[0], padding=hyper[1]) * gy).sum().backward()
        back = ag.conv_transpose2d(gy, w, stride=hyper[0], padding=hyper[1],
                                   output_size=x.shape[2:])
        weight_grad = ag.conv2d_weight(x, gy, w.shape[2:], stride=hyper[0], padding=hyper[1])
    np.testing.assert_allclose(ours.data, expected, rtol=1e-10, atol=1e-12)
    expected_back = conv_transpose2d_loops(gy, w, None, *hyper[:2], (0, 0), hyper[2])
    np.testing.assert_allclose(back.data, expected_back, rtol=1e-10, atol=1e-12)
    one_hots = np.eye(w.size).reshape(w.size, *w.shape)
    expected_weight_grad = [np.vdot(conv2d_loops(x, e, None, *hyper), gy) for e in one_hots]
    np.testing.assert_allclose(weight_grad.data.reshape(-1), expected_weight_grad, rtol=1e-10)
    np.testing.assert_allclose(x_leaf.grad, expected_back, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w_leaf.grad.reshape(-1), expected_weight_grad, rtol=1e-10)
