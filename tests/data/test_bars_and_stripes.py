import itertools

import numpy as np
import pytest
from scipy.stats import chisquare

from minigen.data import (
    bars_and_stripes_log_prob,
    bars_and_stripes_patterns,
    sample_bars_and_stripes,
)

# The six 2×2 patterns, written out by hand (rows of the image, row-major).
TWO_BY_TWO_PATTERNS = {
    (0, 0, 0, 0),
    (1, 1, 1, 1),
    (1, 1, 0, 0),  # top stripe
    (0, 0, 1, 1),  # bottom stripe
    (1, 0, 1, 0),  # left bar
    (0, 1, 0, 1),  # right bar
}


def all_binary_images(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=n * n)), dtype=np.uint8)


@pytest.mark.parametrize("n, expected_count", [(1, 2), (2, 6), (3, 14), (4, 30), (5, 62)])
def test_pattern_count_is_two_to_the_n_plus_one_minus_two(n, expected_count):
    patterns = bars_and_stripes_patterns(n)
    assert patterns.shape == (expected_count, n * n)
    assert patterns.dtype == np.uint8


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_patterns_are_distinct_binary_images(n):
    patterns = bars_and_stripes_patterns(n)
    assert len(np.unique(patterns, axis=0)) == len(patterns)
    assert set(np.unique(patterns).tolist()) <= {0, 1}


def test_two_by_two_patterns_are_the_six_drawn_by_hand():
    assert {tuple(row) for row in bars_and_stripes_patterns(2).tolist()} == TWO_BY_TWO_PATTERNS


@pytest.mark.parametrize("n", [1, 2, 3])
def test_patterns_are_exactly_the_images_with_constant_rows_or_columns(n):
    images = all_binary_images(n).reshape(-1, n, n)
    rows_constant = (images.min(axis=2) == images.max(axis=2)).all(axis=1)
    columns_constant = (images.min(axis=1) == images.max(axis=1)).all(axis=1)
    members = {tuple(image.ravel()) for image in images[rows_constant | columns_constant]}
    assert {tuple(row) for row in bars_and_stripes_patterns(n).tolist()} == members


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_probabilities_sum_to_one_over_all_binary_images(n):
    log_prob = bars_and_stripes_log_prob(all_binary_images(n))
    assert np.exp(log_prob).sum() == pytest.approx(1.0)


def test_members_have_log_prob_minus_log_m_and_others_minus_infinity():
    patterns = bars_and_stripes_patterns(3)
    np.testing.assert_allclose(bars_and_stripes_log_prob(patterns), -np.log(14))
    checkerboard = np.array([[1, 0, 1, 0, 1, 0, 1, 0, 1]])
    assert bars_and_stripes_log_prob(checkerboard)[0] == -np.inf


def test_non_binary_images_have_probability_zero():
    half_grey = np.full((1, 9), 0.5)
    assert bars_and_stripes_log_prob(half_grey)[0] == -np.inf


def test_log_prob_accepts_flat_and_nchw_images_alike():
    patterns = bars_and_stripes_patterns(4)
    images = patterns.reshape(-1, 1, 4, 4).astype(np.float32)
    np.testing.assert_array_equal(
        bars_and_stripes_log_prob(images), bars_and_stripes_log_prob(patterns)
    )


@pytest.mark.parametrize("bad_shape", [(3, 8), (3, 2, 3, 3), (3, 1, 2, 3), (9,)])
def test_log_prob_rejects_images_that_are_not_square_grids(bad_shape):
    with pytest.raises(ValueError, match="shape"):
        bars_and_stripes_log_prob(np.zeros(bad_shape))


def test_samples_are_members_with_shape_nchw():
    samples = sample_bars_and_stripes(500, 4, np.random.default_rng(0))
    assert samples.shape == (500, 1, 4, 4)
    assert samples.dtype == np.float32
    assert np.all(np.isfinite(bars_and_stripes_log_prob(samples)))


def test_samples_are_uniform_over_the_patterns():
    samples = sample_bars_and_stripes(14_000, 3, np.random.default_rng(1))
    patterns = bars_and_stripes_patterns(3)
    flat = samples.reshape(len(samples), 9)
    matches = (flat[:, None, :] == patterns[None, :, :]).all(axis=2)
    assert np.all(matches.sum(axis=1) == 1)
    assert chisquare(matches.sum(axis=0)).pvalue > 1e-3


def test_same_seed_gives_the_same_samples():
    first = sample_bars_and_stripes(50, 3, np.random.default_rng(9))
    np.testing.assert_array_equal(first, sample_bars_and_stripes(50, 3, np.random.default_rng(9)))


@pytest.mark.parametrize("bad_n", [0, -1, 2.0])
def test_grid_size_must_be_a_positive_int(bad_n):
    with pytest.raises(ValueError, match="n must be"):
        bars_and_stripes_patterns(bad_n)


def test_sampling_requires_a_generator():
    with pytest.raises(TypeError, match="rng"):
        sample_bars_and_stripes(3, 3, None)
