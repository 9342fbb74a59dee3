"""PixelCNN: exact normalisation, sampling that matches the density, loss, completion."""

import numpy as np
import pytest
from scipy import stats

import autograd as ag
from minigen.models.autoregressive.pixelcnn import PixelCNN


def make_model(height, width, seed=0, **hparams):
    hparams = {"channels": 4, "first_kernel": 3, "num_blocks": 2, **hparams}
    model = PixelCNN((1, height, width), rng=np.random.default_rng(seed), **hparams)
    rng = np.random.default_rng(seed + 100)
    for parameter in model.parameters():  # move away from the small initial weights
        parameter.data = parameter.data + rng.normal(0, 0.7, parameter.shape).astype(np.float32)
    return model


def all_binary_images(height, width):
    codes = np.arange(2 ** (height * width))[:, None] >> np.arange(height * width)
    return (codes & 1).reshape(-1, 1, height, width).astype(np.float64)


def test_log_prob_sums_to_one_over_all_3x3_images():
    model = make_model(3, 3).astype(np.float64)
    log_probs = model.log_prob(all_binary_images(3, 3))
    assert log_probs.shape == (512,)
    np.testing.assert_allclose(np.exp(log_probs).sum(), 1.0, atol=1e-6)


def test_sample_frequencies_match_the_density_on_2x2_images():
    model = make_model(2, 2, seed=1)
    images = all_binary_images(2, 2)
    probabilities = np.exp(model.astype(np.float64).log_prob(images))
    samples = model.sample(20_000, np.random.default_rng(2))
    assert set(np.unique(samples)) <= {0.0, 1.0}
    codes = (samples.reshape(-1, 4) * 2 ** np.arange(4)).sum(axis=1).astype(int)
    counts = np.bincount(codes, minlength=16)
    _, p_value = stats.chisquare(counts, probabilities * counts.sum())
    assert p_value > 1e-3
    _, p_uniform = stats.chisquare(counts)  # the test has power: the model is far from uniform
    assert p_uniform < 1e-6


def test_loss_is_the_mean_negative_log_prob():
    model = make_model(4, 5)
    x = (np.random.default_rng(3).random((6, 1, 4, 5)) < 0.5).astype(np.float32)
    np.testing.assert_allclose(model.loss(x).item(), -model.log_prob(x).mean(), rtol=1e-5)


def test_complete_keeps_the_top_half_and_fills_the_rest_with_bits():
    model = make_model(4, 5)
    x = (np.random.default_rng(4).random((7, 1, 4, 5)) < 0.5).astype(np.float32)
    for context in (x, x[:, :, :2]):
        completed = model.complete(context, np.random.default_rng(5))
        assert completed.shape == (7, 1, 4, 5)
        np.testing.assert_array_equal(completed[:, :, :2], x[:, :, :2])
        assert set(np.unique(completed)) <= {0.0, 1.0}


def test_complete_draws_from_the_conditional_of_the_lower_half():
    model = make_model(2, 2, seed=6)
    images = all_binary_images(2, 2)
    joint = np.exp(model.astype(np.float64).log_prob(images))
    top = np.array([[[[1.0, 0.0]]]])
    given_top = (images[:, 0, 0] == top[0, 0, 0]).all(axis=1)
    conditional = joint[given_top] / joint[given_top].sum()
    completed = model.complete(np.repeat(top, 8000, axis=0), np.random.default_rng(7))
    codes = (completed[:, 0, 1] * [1, 2]).sum(axis=1).astype(int)
    bottoms = (images[given_top][:, 0, 1] * [1, 2]).sum(axis=1).astype(int)
    counts = np.bincount(codes, minlength=4)[bottoms]
    _, p_value = stats.chisquare(counts, conditional * counts.sum())
    assert p_value > 1e-3


def test_num_parameters_matches_the_layer_by_layer_count():
    c, k1, k, blocks = 5, 5, 3, 3
    model = PixelCNN((1, 8, 8), rng=np.random.default_rng(0), channels=c, first_kernel=k1,
                     kernel_size=k, num_blocks=blocks)
    first = 2 * c * k1 * k1 + 2 * c
    block = (2 * c * c + c) + (c * c * k * k + c) + (c * 2 * c + 2 * c)
    head = (2 * c * 2 * c + 2 * c) + (2 * c + 1)
    assert model.num_parameters() == first + blocks * block + head


def test_a_few_gradient_steps_lower_the_loss():
    model = make_model(4, 4)
    x = (np.random.default_rng(8).random((16, 1, 4, 4)) < 0.3).astype(np.float32)
    before = model.loss(x).item()
    for _ in range(10):
        model.zero_grad()
        model.loss(x).backward()
        for parameter in model.parameters():
            parameter.data -= 0.01 * parameter.grad
    assert model.loss(x).item() < before


def test_bad_shapes_are_rejected_with_the_argument_named():
    with pytest.raises(ValueError, match="data_shape"):
        PixelCNN((3, 8, 8), rng=np.random.default_rng(0))
    model = make_model(4, 4)
    with pytest.raises(ValueError, match="x must have shape"):
        model.loss(np.zeros((2, 1, 4, 5), np.float32))
    with pytest.raises(ValueError, match="x_top"):
        model.complete(np.zeros((2, 1, 3, 4)), np.random.default_rng(0))


def test_logits_are_a_tensor_of_the_image_shape():
    model = make_model(4, 6)
    logits = model.logits(ag.Tensor(np.zeros((3, 1, 4, 6), np.float32)))
    assert isinstance(logits, ag.Tensor) and logits.shape == (3, 1, 4, 6)
    assert logits.dtype == np.float32
