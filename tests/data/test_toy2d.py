import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist
from scipy.stats import chisquare

from minigen.data import (
    assign_to_centers,
    grid_centers,
    grid_of_gaussians,
    ring_centers,
    ring_of_gaussians,
    swiss_roll,
    two_moons,
)
from minigen.data.toy2d import isotropic_mixture, mixture_of_gaussians_2d

SAMPLERS = [ring_of_gaussians, grid_of_gaussians, two_moons, swiss_roll, mixture_of_gaussians_2d]


@settings(max_examples=32, deadline=None)
@given(modes=st.integers(1, 32), radius=st.floats(0.5, 10.0))
def test_ring_has_exactly_modes_distinct_centers_on_the_circle(modes, radius):
    centers = ring_centers(modes, radius)
    assert centers.shape == (modes, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), radius)
    if modes > 1:
        # neighbours on a regular polygon are a chord 2r·sin(π/modes) apart
        chord = 2 * radius * np.sin(np.pi / modes)
        assert pdist(centers).min() == pytest.approx(chord)


def test_ring_of_eight_has_a_center_at_each_multiple_of_45_degrees():
    angles = np.degrees(np.arctan2(*ring_centers(8, 1.0)[:, ::-1].T)) % 360
    np.testing.assert_allclose(np.sort(angles), np.arange(0, 360, 45), atol=1e-9)


@pytest.mark.parametrize("modes", [8, 10])
def test_ring_samples_visit_every_mode_with_equal_frequency(modes):
    samples = ring_of_gaussians(8000, np.random.default_rng(1), modes=modes)
    counts = np.bincount(assign_to_centers(samples, ring_centers(modes)), minlength=modes)
    assert chisquare(counts).pvalue > 1e-3


def test_ring_samples_stay_within_a_few_std_of_the_circle():
    samples = ring_of_gaussians(2000, np.random.default_rng(2), radius=2.0, std=0.02)
    assert np.all(np.abs(np.linalg.norm(samples, axis=1) - 2.0) < 6 * 0.02 * np.sqrt(2))


@settings(max_examples=15, deadline=None)
@given(side=st.integers(1, 9), spacing=st.floats(0.1, 5.0))
def test_grid_has_side_squared_distinct_centers_centred_at_zero(side, spacing):
    centers = grid_centers(side, spacing)
    assert centers.shape == (side * side, 2)
    assert len({tuple(center) for center in np.round(centers / spacing, 6)}) == side * side
    np.testing.assert_allclose(centers.mean(axis=0), 0.0, atol=1e-9)
    if side > 1:
        assert pdist(centers).min() == pytest.approx(spacing)


def test_default_grid_is_five_by_five_from_minus_four_to_four():
    centers = grid_centers()
    assert len(centers) == 25
    assert sorted(set(centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert sorted(set(centers[:, 1].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_grid_samples_visit_every_mode_with_equal_frequency():
    samples = grid_of_gaussians(10_000, np.random.default_rng(3))
    counts = np.bincount(assign_to_centers(samples, grid_centers()), minlength=25)
    assert chisquare(counts).pvalue > 1e-3


def test_mixture_reports_the_mode_each_point_came_from():
    centers = grid_centers(3, 10.0)
    points, modes = isotropic_mixture(500, np.random.default_rng(4), centers, std=0.1)
    assert modes.dtype == np.int64
    assert np.all(np.linalg.norm(points - centers[modes], axis=1) < 1.0)


def test_assign_to_centers_picks_the_nearest():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.array([[9.0, 1.0], [1.0, 1.0], [-1.0, 8.0], [4.0, 0.0]])
    assert assign_to_centers(points, centers).tolist() == [1, 0, 2, 0]


def test_two_moons_without_noise_lie_on_their_two_half_circles():
    points = two_moons(2000, np.random.default_rng(5), noise=0.0)
    upper_center, lower_center = np.array([-2 / 3, -1 / 3]), np.array([2 / 3, 1 / 3])
    on_upper = np.isclose(np.linalg.norm(points - upper_center, axis=1), 4 / 3)
    on_lower = np.isclose(np.linalg.norm(points - lower_center, axis=1), 4 / 3)
    assert np.all(on_upper | on_lower)
    assert np.all(points[on_upper, 1] >= upper_center[1] - 1e-12)
    assert np.all(points[on_lower, 1] <= lower_center[1] + 1e-12)
    assert 0.45 < on_upper.mean() < 0.55
    assert np.all(np.abs(points) <= [2 + 1e-12, 1 + 1e-12])


def test_swiss_roll_without_noise_follows_its_spiral():
    points = swiss_roll(2000, np.random.default_rng(6), noise=0.0)
    scale = 2 / (4.5 * np.pi)
    turn = np.linalg.norm(points, axis=1) / scale
    assert np.all((turn >= 1.5 * np.pi - 1e-9) & (turn <= 4.5 * np.pi + 1e-9))
    np.testing.assert_allclose(points, scale * turn[:, None] * np.c_[np.cos(turn), np.sin(turn)])
    assert np.all(np.abs(points) <= 2 + 1e-12)


def test_noise_argument_is_the_std_added_to_the_clean_set():
    clean = two_moons(4000, np.random.default_rng(7), noise=0.0)
    noisy = two_moons(4000, np.random.default_rng(7), noise=0.3)
    assert np.std(noisy - clean) == pytest.approx(0.3, rel=0.05)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samples_have_shape_n_by_2_float64(sampler):
    points = sampler(37, np.random.default_rng(0))
    assert points.shape == (37, 2)
    assert points.dtype == np.float64
    assert sampler(0, np.random.default_rng(0)).shape == (0, 2)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_same_seed_gives_the_same_samples_and_another_seed_others(sampler):
    first = sampler(100, np.random.default_rng(11))
    np.testing.assert_array_equal(first, sampler(100, np.random.default_rng(11)))
    assert not np.array_equal(first, sampler(100, np.random.default_rng(12)))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_never_touch_numpy_global_random_state(sampler):
    np.random.seed(1234)
    _, key_before, position_before, *_ = np.random.get_state()
    sampler(50, np.random.default_rng(0))
    _, key_after, position_after, *_ = np.random.get_state()
    np.testing.assert_array_equal(key_after, key_before)
    assert position_after == position_before


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_negative_n_is_a_value_error(sampler):
    with pytest.raises(ValueError, match="n must be >= 0"):
        sampler(-1, np.random.default_rng(0))


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("bad_rng", [None, 0, np.random.RandomState(0)])
def test_rng_that_is_not_a_generator_is_a_type_error(sampler, bad_rng):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sampler(5, bad_rng)


@pytest.mark.parametrize("bad_modes", [0, -3, 2.5])
def test_ring_rejects_a_mode_count_below_one(bad_modes):
    with pytest.raises(ValueError, match="modes"):
        ring_centers(bad_modes)
