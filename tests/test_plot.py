"""Plots: every figure is a valid PNG; make_run_plots draws what a model can; grid layout."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigen import plot
from tests.test_train import CodeOnly, ConditionalCoins, LatentCoins, PixelCoins, TwoPlayerToy

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_valid_png(path: str | Path) -> np.ndarray:
    """The file starts with the PNG signature and matplotlib reads it back as an image."""
    path = Path(path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    image = plt.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4) and min(image.shape[:2]) > 20
    return image


HISTORY = {"train": {"loss": list(np.linspace(5, 1, 40))},
           "test": [{"epoch": 1, "step": 20, "loss": 3.0}, {"epoch": 2, "step": 40, "loss": 1.5}]}


def _images(n: int, shape: tuple[int, ...] = (1, 8, 8), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *shape)).astype(np.float32)


def test_every_figure_function_writes_a_valid_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = [
        plot.plot_loss(HISTORY, tmp_path / "loss.png"),
        plot.plot_loss({"train": {"d_loss": [1.0, 0.5], "g_loss": [2.0, 1.0]}, "test": []},
                       tmp_path / "two.png"),
        plot.plot_image_grid(_images(20), tmp_path / "grid.png", nrow=5, title="t"),
        plot.plot_image_grid(_images(6, (3, 5, 5)) * 2 - 1, tmp_path / "rgb.png"),
        plot.plot_reconstructions(_images(10), _images(10, seed=1), tmp_path / "rec.png"),
        plot.plot_latent_scatter(rng.normal(size=(50, 3)), rng.integers(0, 10, 50),
                                 tmp_path / "latent.png"),
        plot.plot_latent_scatter(rng.normal(size=(50, 1)), None, tmp_path / "latent1.png"),
        plot.plot_points_2d(rng.normal(size=(100, 2)), tmp_path / "points.png",
                            reference=rng.normal(size=(100, 2))),
        plot.plot_completions(_images(4), _images(4, seed=2), tmp_path / "complete.png"),
        plot.plot_completions(_images(4), np.stack([_images(4, seed=s) for s in range(3)]),
                              tmp_path / "complete3.png"),
        plot.plot_chain(_images(6 * 3).reshape(6, 3, 1, 8, 8), tmp_path / "chain.png"),
    ]
    for path in paths:
        assert_valid_png(path)
    assert plt.get_fignums() == []  # every figure was closed


def test_make_run_plots_draws_every_capability_of_a_latent_image_model(tmp_path: Path) -> None:
    model = LatentCoins((1, 8, 8), rng=np.random.default_rng(0))
    x = (_images(40) > 0.5).astype(np.float32)
    written = plot.make_run_plots(model, tmp_path, x, np.arange(40) % 10, HISTORY,
                                  np.random.default_rng(0), "digits-binary")
    assert {Path(p).name for p in written} == {"loss.png", "samples.png",
                                               "reconstructions.png", "latent.png",
                                               "completions.png"}
    for path in written:
        assert_valid_png(path)


def test_make_run_plots_draws_points_for_a_2d_model_and_only_what_applies(tmp_path: Path
                                                                          ) -> None:
    model = TwoPlayerToy((2,), rng=np.random.default_rng(0))
    x = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    written = plot.make_run_plots(model, tmp_path, x, None, HISTORY, np.random.default_rng(0),
                                  "ring")
    assert [Path(p).name for p in written] == ["loss.png", "samples.png"]
    for path in written:
        assert_valid_png(path)


def test_a_model_that_cannot_sample_gets_every_other_figure(tmp_path: Path) -> None:
    model = CodeOnly((1, 8, 8), rng=np.random.default_rng(0))
    written = plot.make_run_plots(model, tmp_path, _images(20), np.arange(20) % 10, HISTORY,
                                  np.random.default_rng(0), "digits")
    assert {Path(p).name for p in written} == {"loss.png", "reconstructions.png", "latent.png"}
    assert not (tmp_path / "samples.png").exists()


def test_conditional_samples_have_one_row_per_class(tmp_path: Path) -> None:
    sizes = {}
    for name, model in [
        ("conditional", ConditionalCoins((1, 8, 8), rng=np.random.default_rng(0),
                                         num_classes=4)),
        ("plain", PixelCoins((1, 8, 8), rng=np.random.default_rng(0))),
    ]:
        run_dir = tmp_path / name
        plot.make_run_plots(model, run_dir, _images(20), np.arange(20) % 4, HISTORY,
                            np.random.default_rng(0), "digits")
        sizes[name] = assert_valid_png(run_dir / "samples.png").shape
    # 4 class rows of 8 against the 8 rows of 8 of an unconditional model
    assert sizes["conditional"][0] < 0.75 * sizes["plain"][0]
    assert sizes["conditional"][1] == pytest.approx(sizes["plain"][1], rel=0.05)


@given(n=st.integers(1, 30), nrow=st.integers(1, 12), height=st.integers(1, 5),
       width=st.integers(1, 5), channels=st.sampled_from([1, 3]))
def test_tile_images_places_image_i_at_row_i_div_nrow_column_i_mod_nrow(
    n: int, nrow: int, height: int, width: int, channels: int
) -> None:
    images = np.random.default_rng(n).random((n, channels, height, width))
    grid = plot.tile_images(images, nrow, padding=1, pad_value=-1.0)
    columns = min(nrow, n)
    rows = math.ceil(n / columns)
    assert grid.shape[:2] == (rows * (height + 1) + 1, columns * (width + 1) + 1)
    for i in range(n):
        top, left = 1 + (i // columns) * (height + 1), 1 + (i % columns) * (width + 1)
        tile = grid[top:top + height, left:left + width]
        expected = images[i, 0] if channels == 1 else images[i].transpose(1, 2, 0)
        np.testing.assert_array_equal(tile, expected)


@given(hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(-1, 1)))
def test_signed_images_are_mapped_affinely_onto_the_unit_interval(values: np.ndarray) -> None:
    values = np.append(values, -0.5)  # at least one negative value: the [−1, 1] convention
    np.testing.assert_allclose(plot.to_unit_range(values), (values + 1) / 2)


@given(hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(0, 1)))
def test_unit_and_binary_images_are_shown_unchanged(values: np.ndarray) -> None:
    np.testing.assert_array_equal(plot.to_unit_range(values), values)


@given(hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-100, 100)),
       st.integers(1, 10))
def test_smooth_is_the_mean_of_the_last_window_values(values: np.ndarray, window: int) -> None:
    expected = [values[max(0, i - window + 1):i + 1].mean() for i in range(len(values))]
    np.testing.assert_allclose(plot.smooth(values, window), expected, atol=1e-9)


def test_mismatched_or_malformed_inputs_name_the_shapes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"x has shape \(2, 1, 8, 8\) but x_rec"):
        plot.plot_reconstructions(_images(2), _images(3), tmp_path / "r.png")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        plot.plot_image_grid(np.zeros((4, 8, 8)), tmp_path / "g.png")
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.plot_points_2d(np.zeros((4, 3)), tmp_path / "p.png")
    assert not list(tmp_path.iterdir())
