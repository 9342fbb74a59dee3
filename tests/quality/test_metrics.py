import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minigen.quality.metrics import (
    coverage,
    cubic_kernel,
    density,
    frechet_distance,
    histogram,
    kernel_inception_distance,
    kl_to_uniform,
    kth_neighbour_radii,
    median_nn_distance,
    pairwise_distances,
    precision,
    recall,
)

finite = st.floats(-10, 10, allow_nan=False, width=64)


@st.composite
def feature_sets(draw, min_rows=3, max_rows=30, max_dim=6):
    rows = draw(st.integers(min_rows, max_rows))
    dim = draw(st.integers(1, max_dim))
    return draw(arrays(np.float64, (rows, dim), elements=finite))


def with_exact_moments(rng, num_rows, mean, cov_root):
    """Rows whose sample mean is ``mean`` and sample covariance cov_root @ cov_root.T."""
    noise = rng.standard_normal((num_rows, len(mean)))
    noise -= noise.mean(axis=0)
    # whiten so the unbiased sample covariance is the identity exactly (up to rounding)
    whitening = np.linalg.cholesky(np.atleast_2d(np.cov(noise, rowvar=False)))
    white = np.linalg.solve(whitening, noise.T).T
    return mean + white @ cov_root.T


def gaussian_frechet_closed_form(mean_a, cov_a, mean_b, cov_b):
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}), with scipy's matrix square root."""
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root))


@given(feature_sets())
def test_frechet_distance_of_a_set_with_itself_is_zero(features):
    scale = 1.0 + np.abs(features).max() ** 2
    assert abs(frechet_distance(features, features)) <= 1e-6 * scale * features.shape[1]


@given(feature_sets(), st.randoms(use_true_random=False))
def test_frechet_distance_is_invariant_to_permuting_samples(features, random):
    other = features[::-1] * 0.5 + 1.0
    order = np.array(random.sample(range(len(features)), len(features)))
    scale = 1.0 + np.abs(features).max() ** 2
    assert frechet_distance(features[order], other) == pytest.approx(
        frechet_distance(features, other), abs=1e-8 * scale * features.shape[1])


@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_frechet_distance_of_two_gaussians_equals_the_closed_form(dim, seed):
    rng = np.random.default_rng(seed)
    mean_a, mean_b = rng.normal(size=dim), rng.normal(size=dim)
    root_a, root_b = rng.normal(size=(dim, dim)), rng.normal(size=(dim, dim))
    a = with_exact_moments(rng, 50, mean_a, root_a)
    b = with_exact_moments(rng, 80, mean_b, root_b)
    expected = gaussian_frechet_closed_form(mean_a, root_a @ root_a.T, mean_b, root_b @ root_b.T)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6, abs=1e-8)


@given(st.floats(-3, 3), st.floats(0.1, 3), st.floats(-3, 3), st.floats(0.1, 3))
def test_frechet_distance_in_one_dimension_is_mean_gap_plus_std_gap_squared(
        mean_a, std_a, mean_b, std_b):
    rng = np.random.default_rng(0)
    a = with_exact_moments(rng, 40, np.array([mean_a]), np.array([[std_a]]))
    b = with_exact_moments(rng, 60, np.array([mean_b]), np.array([[std_b]]))
    # FD(N(μ_a, σ_a²), N(μ_b, σ_b²)) = (μ_a − μ_b)² + (σ_a − σ_b)²
    expected = (mean_a - mean_b) ** 2 + (std_a - std_b) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-7, abs=1e-9)


def unbiased_mmd_by_loops(x, y):
    """MMD²_u written as its three double sums (Bińkowski et al. 2018, eq. 3)."""
    kernel = cubic_kernel
    n, m = len(x), len(y)
    xx = sum(kernel(x[i:i + 1], x[j:j + 1])[0, 0] for i in range(n) for j in range(n) if i != j)
    yy = sum(kernel(y[i:i + 1], y[j:j + 1])[0, 0] for i in range(m) for j in range(m) if i != j)
    xy = sum(kernel(x[i:i + 1], y[j:j + 1])[0, 0] for i in range(n) for j in range(m))
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * xy / (n * m)


@given(feature_sets(max_rows=8, max_dim=3), feature_sets(max_rows=8, max_dim=3))
def test_kid_is_the_unbiased_mmd_u_statistic(x, y):
    y = y[:, :1].repeat(x.shape[1], axis=1)  # same dimension
    expected = unbiased_mmd_by_loops(x, y)
    assert kernel_inception_distance(x, y) == pytest.approx(expected, rel=1e-9,
                                                            abs=1e-9 * (1 + abs(expected)))


def test_kid_averages_to_zero_for_two_samples_of_one_distribution():
    rng = np.random.default_rng(0)
    estimates = [kernel_inception_distance(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)))
                 for _ in range(200)]
    standard_error = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates)) < 3 * standard_error
    assert min(estimates) < 0 < max(estimates)  # unbiased, so single draws fall either side


def test_kid_is_clearly_positive_for_different_distributions():
    rng = np.random.default_rng(1)
    same = [kernel_inception_distance(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)))
            for _ in range(20)]
    shifted = kernel_inception_distance(rng.normal(size=(100, 8)),
                                        rng.normal(0.5, 1.0, size=(100, 8)))
    assert shifted > 10 * np.std(same)


@given(feature_sets(min_rows=4))
def test_precision_and_recall_are_one_for_identical_sets(features):
    assert precision(features, features) == 1.0
    assert recall(features, features) == 1.0


@given(feature_sets(min_rows=6))
def test_coverage_is_one_for_identical_sets(features):
    assert coverage(features, features) == 1.0


@given(feature_sets(min_rows=4, max_dim=3), st.floats(1e3, 1e4))
def test_precision_recall_density_coverage_are_zero_for_far_apart_sets(features, offset):
    spread = np.ptp(features) + 1.0  # keep the gap far larger than any k-NN radius
    far = features + offset * spread
    assert precision(far, features) == recall(far, features) == 0.0
    if len(features) > 5:
        assert density(far, features) == coverage(far, features) == 0.0


def test_precision_and_recall_are_near_zero_for_disjoint_clouds():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(300, 4)), rng.normal(8.0, 1.0, size=(300, 4))
    assert precision(fake, real) < 0.02 and recall(fake, real) < 0.02


def test_precision_drops_and_recall_stays_when_half_the_samples_are_off_manifold():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(400, 2))
    fake = np.concatenate([rng.normal(size=(400, 2)), rng.normal(20.0, 1.0, size=(400, 2))])
    assert 0.4 < precision(fake, real) < 0.55
    assert recall(fake, real) > 0.9


def test_density_is_about_one_and_coverage_high_for_samples_of_the_data_distribution():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4))
    assert 0.85 < density(fake, real) < 1.15
    assert coverage(fake, real) > 0.9


def test_density_counts_every_real_ball_a_sample_falls_in_over_k():
    real = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    # with k = 5 every ball reaches the farthest point: radius = max(|i − j|)
    sample = np.array([[2.5]])
    assert kth_neighbour_radii(real, 5).tolist() == [5.0, 4.0, 3.0, 3.0, 4.0, 5.0]
    assert density(sample, real, k=5) == 6 / 5
    assert coverage(sample, real, k=5) == 1.0


@given(feature_sets(min_rows=5, max_dim=3), st.integers(1, 3))
def test_kth_neighbour_radii_match_sorting_the_distances(features, k):
    distances = np.sqrt(((features[:, None] - features[None]) ** 2).sum(-1))
    expected = np.sort(distances, axis=1)[:, k]
    np.testing.assert_allclose(kth_neighbour_radii(features, k), expected, atol=1e-6)


@given(feature_sets(), feature_sets())
def test_pairwise_distances_match_the_definition(a, b):
    b = b[:, :1].repeat(a.shape[1], axis=1)
    expected = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    np.testing.assert_allclose(pairwise_distances(a, b), expected, atol=1e-6)


@given(st.integers(1, 20))
def test_kl_to_uniform_is_zero_for_uniform_and_log_k_for_one_bin(num_bins):
    assert kl_to_uniform(np.full(num_bins, 1 / num_bins)) == pytest.approx(0.0, abs=1e-12)
    one_hot = np.eye(num_bins)[0]
    assert kl_to_uniform(one_hot) == pytest.approx(np.log(num_bins))


def test_histogram_gives_shares_per_bin_and_rejects_out_of_range_indices():
    np.testing.assert_allclose(histogram(np.array([0, 2, 2, 2]), 4), [0.25, 0, 0.75, 0])
    with pytest.raises(ValueError, match="0..3"):
        histogram(np.array([4]), 4)


def test_median_nn_distance_is_zero_for_copies_of_the_training_set():
    rng = np.random.default_rng(5)
    train = rng.normal(size=(50, 3))
    assert median_nn_distance(train[:20], train) == 0.0
    assert median_nn_distance(rng.normal(size=(20, 3)), train) > 0.1


def test_mismatched_feature_dimensions_are_a_value_error_with_both_shapes():
    with pytest.raises(ValueError, match=r"\(10, 3\).*\(10, 4\)"):
        frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))
