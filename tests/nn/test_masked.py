"""MaskedLinear and the MADE mask construction (minigen.nn.masked)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn.masked import (
    MaskedLinear,
    degree_mask,
    hidden_degrees,
    made_masks,
    ordering_degrees,
)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**31))
def test_masked_linear_is_the_affine_map_with_masked_weights(n_in, n_out, batch, seed):
    rng = np.random.default_rng(seed)
    layer = MaskedLinear(n_in, n_out, rng=rng).astype(np.float64)
    mask = rng.integers(0, 2, size=(n_out, n_in))
    layer.set_mask(mask)
    x = rng.standard_normal((batch, n_in))
    expected = x @ (layer.weight.data * mask).T + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12, atol=1e-12)


def test_masked_weights_receive_exactly_zero_gradient():
    rng = np.random.default_rng(0)
    layer = MaskedLinear(5, 4, rng=rng)
    mask = rng.integers(0, 2, size=(4, 5))
    layer.set_mask(mask)
    layer(rng.standard_normal((3, 5)).astype(np.float32)).sum().backward()
    assert np.all(layer.weight.grad[mask == 0] == 0)
    assert np.all(layer.weight.grad[mask == 1] != 0)


def test_masked_linear_gradcheck_first_and_second_order():
    rng = np.random.default_rng(1)
    layer = MaskedLinear(4, 3, rng=rng).astype(np.float64)
    layer.set_mask(rng.integers(0, 2, size=(3, 4)))
    x = ag.Tensor(rng.standard_normal((2, 4)), requires_grad=True)

    def forward(x, weight, bias):
        return ag.tanh(layer(x))  # tanh so the second derivative is not trivially zero

    assert ag.gradcheck(forward, [x, layer.weight, layer.bias], order=2)


def test_set_mask_rejects_a_wrong_shape_and_non_binary_values():
    layer = MaskedLinear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        layer.set_mask(np.ones((3, 2)))
    with pytest.raises(ValueError, match="zeros and ones"):
        layer.set_mask(np.full((2, 3), 0.5))


def test_mask_is_saved_in_the_state_dict_and_restored():
    rng = np.random.default_rng(2)
    source, target = MaskedLinear(4, 3, rng=rng), MaskedLinear(4, 3, rng=rng)
    source.set_mask(rng.integers(0, 2, size=(3, 4)))
    target.load_state_dict(source.state_dict())
    x = rng.standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(target.mask, source.mask)
    np.testing.assert_array_equal(target(x).data, source(x).data)


@given(st.integers(1, 9), st.sampled_from(["natural", "random"]), st.integers(0, 2**31))
def test_ordering_degrees_are_a_permutation_of_one_to_d(num_inputs, ordering, seed):
    degrees = ordering_degrees(num_inputs, ordering, np.random.default_rng(seed))
    assert sorted(degrees.tolist()) == list(range(1, num_inputs + 1))
    if ordering == "natural":
        assert degrees.tolist() == list(range(1, num_inputs + 1))


@given(st.integers(2, 9), st.lists(st.integers(1, 12), min_size=1, max_size=3),
       st.integers(0, 2**31))
def test_hidden_degrees_lie_between_the_previous_minimum_and_d_minus_one(
        num_inputs, sizes, seed):
    rng = np.random.default_rng(seed)
    inputs = ordering_degrees(num_inputs, "random", rng)
    previous = inputs
    for layer, size in zip(hidden_degrees(inputs, sizes, rng), sizes):
        assert layer.shape == (size,)
        assert layer.min() >= previous.min() and layer.max() <= num_inputs - 1
        previous = layer


@given(st.integers(1, 8), st.lists(st.integers(1, 10), min_size=0, max_size=3),
       st.sampled_from(["natural", "random"]), st.integers(0, 2**31))
def test_made_masks_connect_each_output_only_to_earlier_inputs(
        num_inputs, sizes, ordering, seed):
    rng = np.random.default_rng(seed)
    inputs = ordering_degrees(num_inputs, ordering, rng)
    masks = made_masks(inputs, hidden_degrees(inputs, sizes, rng))
    assert [m.shape for m in masks] == list(
        zip([*sizes, num_inputs], [num_inputs, *sizes]))
    # paths[i, j] = number of paths from input j to output i through the masked layers
    paths = np.eye(num_inputs)
    for mask in masks:
        paths = mask @ paths
    allowed = inputs[:, None] > inputs[None, :]
    assert np.all(paths[~allowed] == 0)


def test_degree_mask_strict_and_non_strict():
    out_degrees, in_degrees = np.array([1, 2, 3]), np.array([1, 2])
    np.testing.assert_array_equal(degree_mask(in_degrees, out_degrees, strict=False),
                                  [[1, 0], [1, 1], [1, 1]])
    np.testing.assert_array_equal(degree_mask(in_degrees, out_degrees, strict=True),
                                  [[0, 0], [1, 0], [1, 1]])


def test_ordering_rejects_unknown_names():
    with pytest.raises(ValueError, match="natural"):
        ordering_degrees(3, "reversed", np.random.default_rng(0))
