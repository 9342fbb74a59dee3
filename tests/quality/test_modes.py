import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.data import MODE_PROTOCOL_MIXTURES, ModeMixture, get_dataset
from minigen.quality import sample_quality
from minigen.quality.modes import high_quality_mask, mode_statistics

RING = MODE_PROTOCOL_MIXTURES["ring-pacgan"]
GRID = MODE_PROTOCOL_MIXTURES["grid-pacgan"]


def test_protocol_mixtures_have_the_papers_parameters():
    np.testing.assert_allclose(np.linalg.norm(RING.centers, axis=1), 1.0)
    assert len(RING.centers) == 8 and RING.std == 0.01
    assert len(GRID.centers) == 25 and GRID.std == 0.05
    assert sorted(set(GRID.centers.ravel().tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


@pytest.mark.parametrize("name", ["ring-pacgan", "grid-pacgan"])
def test_protocol_data_sets_are_draws_of_their_mixture(name):
    mixture = MODE_PROTOCOL_MIXTURES[name]
    points, modes = get_dataset(name, "train")
    assert points.shape == (4000, 2)
    assert set(modes.tolist()) == set(range(len(mixture.centers)))
    distances = np.linalg.norm(points - mixture.centers[modes], axis=1) / mixture.std
    assert 0.9 < np.mean(distances**2) / 2 < 1.1  # E‖x − c‖² / σ² = 2 in two dimensions


def test_mode_counter_on_hand_placed_samples():
    # grid modes are ordered row by row: mode 0 is (−4, −4), mode 12 is (0, 0)
    points = np.array([
        [-4.0, -4.0],           # on mode 0
        [0.0, 0.15],            # exactly 3σ = 0.15 above mode 12: counts
        [0.15000001, 0.0],      # just beyond 3σ from mode 12: does not count
        [1.0, 1.0],             # between modes: nearest is one of them, far from all
        [4.0, 4.0 - 0.1],       # 2σ below mode 24
    ])
    modes, good = high_quality_mask(points, GRID)
    assert modes[[0, 1, 2, 4]].tolist() == [0, 12, 12, 24]
    assert good.tolist() == [True, True, False, False, True]
    statistics = mode_statistics(points, GRID)
    assert statistics["modes_captured"] == 3
    assert statistics["high_quality_fraction"] == 3 / 5
    # three good samples on three of 25 modes: KL = Σ (1/3) log(25/3) = log(25/3)
    assert statistics["mode_kl"] == pytest.approx(np.log(25 / 3))


def test_a_sample_at_exactly_three_sigma_on_the_ring_counts_as_high_quality():
    three_sigma = np.array([[1.03, 0.0], [0.0, 0.97], [-1.0, -0.03]])  # modes 0, 2, 4
    assert 1.03 - 1.0 > 0.03  # in floating point this sample lies a hair beyond 3σ
    modes, good = high_quality_mask(three_sigma, RING)
    assert modes.tolist() == [0, 2, 4] and good.all()


@given(st.floats(0, 2 * np.pi), st.integers(0, 24), st.floats(0.0, 1.0))
def test_samples_within_three_sigma_count_and_beyond_do_not(angle, mode, fraction):
    direction = np.array([np.cos(angle), np.sin(angle)])
    center = GRID.centers[mode]
    inside = center + fraction * 3 * GRID.std * direction
    outside = center + 3 * GRID.std * (1 + 1e-6) * direction
    _, good = high_quality_mask(np.stack([inside, outside]), GRID)
    assert good.tolist() == [True, False]


def test_a_collapsed_generator_captures_one_mode_with_kl_log_k():
    rng = np.random.default_rng(0)
    collapsed = RING.centers[3] + RING.std * rng.standard_normal((2500, 2)) / 3
    statistics = mode_statistics(collapsed, RING)
    assert statistics == {"modes_captured": 1.0, "high_quality_fraction": 1.0,
                          "mode_kl": pytest.approx(np.log(8))}


def test_no_high_quality_sample_gives_an_infinite_mode_kl():
    statistics = mode_statistics(np.full((10, 2), 0.5), RING)
    assert statistics["modes_captured"] == 0 and statistics["high_quality_fraction"] == 0
    assert statistics["mode_kl"] == np.inf


@pytest.mark.parametrize("name", ["ring-pacgan", "grid-pacgan"])
def test_the_true_mixture_scores_its_floor(name):
    mixture = MODE_PROTOCOL_MIXTURES[name]
    points, _ = mixture.sample(2500, np.random.default_rng(1))
    quality = sample_quality(points, name, rng=np.random.default_rng(2))
    assert quality["modes_captured"] == quality["modes_captured_floor"] == len(mixture.centers)
    # in 2-D, P(‖z‖ ≤ 3) = 1 − exp(−9/2) ≈ 0.989 for a standard normal z
    for key in ("high_quality_fraction", "high_quality_fraction_floor"):
        assert quality[key] == pytest.approx(1 - np.exp(-4.5), abs=0.01)
    assert quality["mode_kl"] < 0.02 and quality["mode_kl_floor"] < 0.02


def test_mode_statistics_rejects_points_that_are_not_two_dimensional():
    with pytest.raises(ValueError, match=r"\(N, 2\).*\(5, 3\)"):
        mode_statistics(np.zeros((5, 3)), ModeMixture(np.zeros((1, 2)), 1.0))
