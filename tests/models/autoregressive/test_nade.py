"""NADE (Larochelle & Murray, 2011)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.models.autoregressive.nade import NADE
from tests.models.autoregressive.test_fvsbn import (
    binary_vectors,
    chi_square_p_value,
    logit_jacobian,
    loss_after_training,
    toy_binary_data,
)


def random_nade(num_dims: int, hidden_size: int, seed: int, scale: float = 3.0) -> NADE:
    """A float64 NADE with random (non-zero) biases and weights larger than the init."""
    rng = np.random.default_rng(seed)
    model = NADE((num_dims,), rng=rng, hidden_size=hidden_size).astype(np.float64)
    for parameter in model.parameters():
        parameter.data = scale * rng.standard_normal(parameter.shape)
    return model


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@given(st.integers(2, 8), st.integers(1, 6), st.integers(0, 2**31))
def test_logit_i_depends_only_on_pixels_before_i(num_dims, hidden_size, seed):
    model = random_nade(num_dims, hidden_size, seed, scale=1.0)
    x = np.random.default_rng(seed + 1).random((3, num_dims))
    jacobian = logit_jacobian(model.logits, x)
    i, j = np.indices(jacobian.shape)
    assert np.all(jacobian[j >= i] == 0)
    assert np.all(jacobian[1:].max(axis=1) > 0)  # every later pixel sees something before it


@given(st.integers(1, 8), st.integers(1, 6), st.integers(0, 2**31))
def test_logits_equal_an_explicit_loop_over_dimensions(num_dims, hidden_size, seed):
    model = random_nade(num_dims, hidden_size, seed)
    x = (np.random.default_rng(seed + 1).random((4, num_dims)) < 0.5).astype(float)
    W, c = model.input_weight.data, model.hidden_bias.data
    V, b = model.output_weight.data, model.output_bias.data
    expected = np.zeros_like(x)
    for n in range(len(x)):
        for i in range(num_dims):
            h = sigmoid(c + W[:, :i] @ x[n, :i])  # h_i = σ(c + W_{:,<i} x_<i)
            expected[n, i] = b[i] + V[i] @ h
    np.testing.assert_allclose(model.logits(x).data, expected, rtol=1e-10, atol=1e-10)


@given(st.integers(1, 9), st.integers(1, 6), st.integers(0, 2**31))
def test_probabilities_sum_to_one_over_all_binary_vectors(num_dims, hidden_size, seed):
    model = random_nade(num_dims, hidden_size, seed)
    total = np.exp(model.log_prob(binary_vectors(num_dims))).sum()
    assert abs(total - 1) < 1e-6


def test_incremental_samples_match_the_probabilities_chi_square():
    model = random_nade(4, 3, seed=2, scale=1.5)
    samples = model.sample(20_000, np.random.default_rng(3))
    probabilities = np.exp(model.log_prob(binary_vectors(4)))
    assert chi_square_p_value(samples, probabilities) > 1e-3


def test_complete_samples_the_lower_half_from_its_conditional():
    model = random_nade(4, 3, seed=4, scale=1.5)
    top = np.array([[0.0, 1.0]])
    draws = model.complete(np.repeat(top, 20_000, axis=0), np.random.default_rng(5))
    assert np.all(draws[:, :2] == top)
    joint = np.exp(model.log_prob(binary_vectors(4))).reshape(2, 2, 4)[0, 1]
    assert chi_square_p_value(draws[:, 2:], joint / joint.sum()) > 1e-3


def test_works_on_images_in_raster_order():
    rng = np.random.default_rng(6)
    image_model = NADE((1, 2, 3), rng=np.random.default_rng(7), hidden_size=4)
    vector_model = NADE((6,), rng=np.random.default_rng(7), hidden_size=4)
    images = (rng.random((3, 1, 2, 3)) < 0.5).astype(np.float32)
    np.testing.assert_array_equal(image_model.log_prob(images),
                                  vector_model.log_prob(images.reshape(3, 6)))
    assert image_model.sample(2, rng).shape == (2, 1, 2, 3)
    assert image_model.complete(images, rng).shape == (3, 1, 2, 3)


def test_loss_gradcheck():
    model = random_nade(4, 3, seed=8, scale=0.5)
    x = toy_binary_data(4, 5, seed=0).astype(np.float64)
    assert ag.gradcheck(lambda *params: model.loss(x), model.parameters())


def test_a_few_adam_steps_lower_the_loss():
    model = NADE((6,), rng=np.random.default_rng(9), hidden_size=8)
    before, after = loss_after_training(model, toy_binary_data(6, 200, seed=1), 30, 0.05)
    assert after < before - 0.5


def test_rejects_bad_hidden_size_and_shapes():
    with pytest.raises(ValueError, match="hidden_size"):
        NADE((4,), rng=np.random.default_rng(0), hidden_size=0)
    model = NADE((4,), rng=np.random.default_rng(0), hidden_size=2)
    with pytest.raises(ValueError, match=r"expected \(N, 4\)"):
        model.loss(np.zeros((2, 1, 2, 2)))
