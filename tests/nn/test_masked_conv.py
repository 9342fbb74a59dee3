"""Masked convolutions, shifts, skew/unskew and the shared raster-order helpers."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd import Tensor
from minigen.nn.losses import bernoulli_log_likelihood
from minigen.nn.masked_conv import (
    MaskedConv2d,
    causal_mask,
    influence_map,
    shift_down,
    shift_right,
    skew,
    unskew,
)

odd = st.integers(0, 3).map(lambda k: 2 * k + 1)


@given(odd, odd, st.sampled_from("AB"))
def test_causal_mask_keeps_exactly_the_taps_before_the_centre_in_raster_order(kh, kw, kind):
    mask = causal_mask((kh, kw), kind)
    centre = (kh // 2) * kw + kw // 2  # raster index of the centre tap
    for a in range(kh):
        for b in range(kw):
            index = a * kw + b
            expected = index < centre or (kind == "B" and index == centre)
            assert mask[a, b] == expected


def test_causal_mask_rejects_even_kernels_and_unknown_types():
    with pytest.raises(ValueError, match="odd"):
        causal_mask((2, 3), "A")
    with pytest.raises(ValueError, match="mask_type"):
        causal_mask((3, 3), "C")


def _masked_conv(kind, kernel=3, channels=(2, 3), seed=0):
    conv = MaskedConv2d(*channels, kernel, kind, rng=np.random.default_rng(seed))
    return conv.astype(np.float64)


@pytest.mark.parametrize("kind", ["A", "B"])
def test_masked_conv_equals_plain_conv_with_the_masked_weight(kind):
    conv = _masked_conv(kind)
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 6))
    manual = ag.conv2d(x, conv.weight.data * causal_mask((3, 3), kind), conv.bias.data,
                       padding=1)
    np.testing.assert_allclose(conv(x).data, manual.data, atol=1e-12)
    assert conv(x).shape == (2, 3, 5, 6)


@pytest.mark.parametrize("kind", ["A", "B"])
def test_masked_taps_do_not_change_the_output_whatever_their_value(kind):
    conv = _masked_conv(kind)
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    before = conv(x).data
    conv.weight.data = conv.weight.data + 100.0 * (1 - causal_mask((3, 3), kind))
    np.testing.assert_array_equal(conv(x).data, before)


@pytest.mark.parametrize("kind", ["A", "B"])
def test_masked_weight_entries_get_zero_gradient(kind):
    conv = _masked_conv(kind, kernel=5)
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    (conv(x) ** 2).sum().backward()
    masked = causal_mask((5, 5), kind) == 0
    assert np.all(conv.weight.grad[:, :, masked] == 0)
    assert np.all(conv.weight.grad[:, :, ~masked] != 0)


@pytest.mark.parametrize("kind", ["A", "B"])
def test_masked_conv_gradcheck_to_second_order(kind):
    conv = _masked_conv(kind, kernel=(3, 3), channels=(2, 2))
    x = Tensor(np.random.default_rng(2).standard_normal((1, 2, 4, 4)), requires_grad=True)

    def fn(inputs, weight, bias):
        return ag.conv2d(inputs, weight * conv.mask, bias, padding=conv.padding)

    assert ag.gradcheck(fn, [x, conv.weight, conv.bias], order=2)
    assert ag.gradcheck(lambda inputs: conv(inputs), [x], order=1)


def test_masked_conv_row_kernel_keeps_only_the_left_of_the_row():
    conv = MaskedConv2d(1, 1, (1, 5), "A", rng=np.random.default_rng(0))
    np.testing.assert_array_equal(conv.mask[0, 0], [[1, 1, 0, 0, 0]])
    assert conv(np.zeros((1, 1, 3, 7), np.float32)).shape == (1, 1, 3, 7)


def test_masked_conv_matches_torch_on_the_masked_weight():
    torch = pytest.importorskip("torch")
    conv = _masked_conv("A", kernel=5)
    x = np.random.default_rng(3).standard_normal((2, 2, 6, 7))
    expected = torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(conv.weight.data * conv.mask),
        torch.tensor(conv.bias.data), padding=2)
    np.testing.assert_allclose(conv(x).data, expected.numpy(), atol=1e-10)


shapes = st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 5), st.integers(1, 5))


@given(shapes)
def test_skew_shifts_row_r_right_by_r(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    n, c, h, w = shape
    expected = np.zeros((n, c, h, w + h - 1))
    for r in range(h):
        expected[:, :, r, r:r + w] = x[:, :, r]
    np.testing.assert_array_equal(skew(x).data, expected)


@given(shapes)
def test_skew_turns_each_diagonal_into_a_column(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    h, w = shape[2:]
    skewed = skew(x).data
    for d in range(h + w - 1):
        on_diagonal = {(r, d - r) for r in range(h) if 0 <= d - r < w}
        for r in range(h):
            expected = x[:, :, r, d - r] if (r, d - r) in on_diagonal else 0.0
            np.testing.assert_array_equal(skewed[:, :, r, d], expected)


@given(shapes)
def test_unskew_inverts_skew(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(unskew(skew(x), shape[3]).data, x)


def test_unskew_rejects_a_width_that_does_not_match():
    with pytest.raises(ValueError, match="width"):
        unskew(np.zeros((1, 1, 3, 5)), 4)


def test_skew_and_unskew_gradcheck():
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((2, 2, 3, 4)), requires_grad=True)
    skewed = Tensor(rng.standard_normal((2, 2, 3, 6)), requires_grad=True)
    assert ag.gradcheck(lambda t: skew(t) ** 2, [x], order=2)
    assert ag.gradcheck(lambda t: unskew(t, 4) ** 2, [skewed], order=2)


@given(shapes, st.integers(0, 3))
def test_shifts_move_rows_down_and_columns_right_with_zeros_behind(shape, k):
    x = np.random.default_rng(0).standard_normal(shape)
    down, right = np.zeros(shape), np.zeros(shape)
    down[:, :, k:] = x[:, :, : max(shape[2] - k, 0)]
    right[:, :, :, k:] = x[:, :, :, : max(shape[3] - k, 0)]
    np.testing.assert_array_equal(shift_down(x, k).data, down)
    np.testing.assert_array_equal(shift_right(x, k).data, right)


def test_shifts_gradcheck():
    x = Tensor(np.random.default_rng(5).standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert ag.gradcheck(lambda t: shift_down(t) * shift_right(t), [x], order=2)


@given(st.floats(-30, 30), st.sampled_from([0.0, 1.0]))
def test_bernoulli_log_likelihood_is_the_log_of_the_bernoulli_probability(logit, x):
    # log σ(l) = −log(1 + e^{−l}), log(1 − σ(l)) = −log(1 + e^{l}); |l| ≤ 30 cannot overflow
    expected = -np.log1p(np.exp(-logit)) if x == 1 else -np.log1p(np.exp(logit))
    value = bernoulli_log_likelihood(np.array(x), Tensor(np.array(logit))).item()
    np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12)


def test_bernoulli_log_likelihood_is_finite_at_extreme_logits():
    logits = Tensor(np.array([-1e4, 1e4, -1e4, 1e4], np.float32))
    values = bernoulli_log_likelihood(np.array([0, 1, 1, 0], np.float32), logits).data
    np.testing.assert_allclose(values, [0, 0, -1e4, -1e4])


class _OneConv:
    """A "model" whose logits are one masked convolution of the image."""

    def __init__(self, kernel, kind):
        self.conv = MaskedConv2d(1, 1, kernel, kind, rng=np.random.default_rng(0))

    def parameters(self):
        return self.conv.parameters()

    def logits(self, x):
        return self.conv(x)


@pytest.mark.parametrize("kind", ["A", "B"])
def test_influence_map_of_one_masked_conv_is_its_mask_placed_at_the_pixel(kind):
    model = _OneConv(3, kind)
    field = influence_map(model, 2, 2, (5, 5))
    expected = np.zeros((5, 5), bool)
    expected[1:4, 1:4] = causal_mask((3, 3), kind) == 1
    np.testing.assert_array_equal(field, expected)
    corner = influence_map(model, 0, 0, (5, 5))  # the padding cuts the mask at the border
    assert corner.sum() == (kind == "B")


def test_influence_map_rejects_a_pixel_outside_the_image():
    with pytest.raises(ValueError, match="outside"):
        influence_map(_OneConv(3, "A"), 5, 0, (5, 5))
