"""The RGB pixel: the joint table's 256³ − 1 parameters against 3 × 255 independent ones."""

import itertools

import numpy as np

from minigen.data import load_colour_pixels
from minigen.models.registry import build
from minigen.models.sequence.rgb_pixel import IndependentChannels


def test_registered_joint_has_256_cubed_minus_one_parameters_and_sums_to_one():
    model = build("rgb_pixel", (3,), np.random.default_rng(0))
    assert model.num_free_parameters() == 256**3 - 1 == 16_777_215
    x, _ = load_colour_pixels("test")
    model.fit(x, smoothing=1e-3)
    np.testing.assert_allclose(model.probs.sum(), 1.0, rtol=1e-12)
    assert np.isfinite(model.log_prob(x)).all()


def test_independent_channels_have_3_times_255_parameters_and_sum_to_one():
    assert build("rgb_independent", (3,), np.random.default_rng(0)).num_free_parameters() == 765
    rng = np.random.default_rng(1)
    model = IndependentChannels(rng=rng, levels=4, smoothing=0.5).fit(rng.integers(0, 4, (30, 3)))
    colours = np.array(list(itertools.product(range(4), repeat=3)))
    np.testing.assert_allclose(np.exp(model.log_prob(colours)).sum(), 1.0, rtol=1e-12)


def test_independent_channels_are_the_product_of_channel_frequencies():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 5, (200, 3))
    model = IndependentChannels(rng=rng, levels=5).fit(x)
    frequencies = [np.bincount(x[:, c], minlength=5) / 200 for c in range(3)]
    expected = np.log(frequencies[0][x[:, 0]] * frequencies[1][x[:, 1]]
                      * frequencies[2][x[:, 2]])
    np.testing.assert_allclose(model.log_prob(x), expected, rtol=1e-12)
    batched = IndependentChannels(rng=rng, levels=5)
    for start in range(0, 200, 64):
        batched.train_step(x[start:start + 64])
    np.testing.assert_allclose(batched.probs, model.probs, rtol=1e-12)


def test_independent_samples_follow_the_channel_tables():
    rng = np.random.default_rng(3)
    model = IndependentChannels(rng=rng, levels=3).fit(rng.integers(0, 3, (50, 3)))
    draws = model.sample(20000, np.random.default_rng(4))
    for c in range(3):
        np.testing.assert_allclose(np.bincount(draws[:, c], minlength=3) / 20000,
                                   model.probs[c], atol=0.015)
