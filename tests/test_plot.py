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


# ----- figures of issues 4 and 5: receptive fields, chains, denoising, codes, priors ----
@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[list[dict]]:
    """What each saved figure drew, per axes: images, scatter points, labels, tick labels."""
    figures: list[list[dict]] = []
    save = plot._save

    def record_then_save(fig, path):
        figures.append([{
            "images": [np.asarray(image.get_array()) for image in ax.images],
            "points": [(np.asarray(c.get_offsets()), c.get_zorder(),
                        np.asarray(c.get_facecolor())) for c in ax.collections],
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(), "title": ax.get_title(),
            "xticklabels": [label.get_text() for label in ax.get_xticklabels()],
        } for ax in fig.axes])
        return save(fig, path)

    monkeypatch.setattr(plot, "_save", record_then_save)
    return figures


def _tiny_pixelcnn(shape=(1, 5, 5)):
    from minigen.models.autoregressive.pixelcnn import PixelCNN
    return PixelCNN(shape, rng=np.random.default_rng(0), channels=2, first_kernel=3,
                    kernel_size=3, num_blocks=2)


def test_drawn_receptive_field_is_the_influence_map_and_shows_the_pixelcnn_blind_spot(
    tmp_path: Path, drawn: list
) -> None:
    from minigen.nn import influence_map
    model = _tiny_pixelcnn()
    i, j = 2, 1
    assert_valid_png(plot.plot_receptive_field(model, tmp_path / "rf.png", pixels=[(i, j)]))
    roles = drawn[0][0]["images"][0]
    influence = influence_map(model, i, j, (5, 5))
    np.testing.assert_array_equal(np.isin(roles, [plot.INFLUENCES, plot.LEAK]), influence)
    assert roles[i, j] == plot.TARGET
    # Raster past: rows above and the row's left; row offset −1 is reached by one type-A
    # step (column +1 at most) and type-B steps that never move right, so (i−1, j+2..) is
    # out of reach at any depth: the blind spot.
    assert roles[i - 1, j + 2] == roles[i - 1, j + 3] == plot.BLIND
    assert roles[i - 1, j + 1] == plot.INFLUENCES
    assert not np.isin(plot.LEAK, roles)


def test_vector_models_fields_follow_their_order_and_window(tmp_path: Path) -> None:
    from minigen.models.autoregressive.fvsbn import FVSBN
    from minigen.models.autoregressive.made import MADE
    from minigen.models.autoregressive.nade import NADE
    rng = np.random.default_rng(0)
    raster = np.arange(16).reshape(4, 4)
    nade = plot.receptive_field(NADE((1, 4, 4), rng=rng, hidden=5), (2, 1))
    np.testing.assert_array_equal(nade == plot.INFLUENCES, raster < 9)  # the whole past
    fvsbn = plot.receptive_field(FVSBN((1, 4, 4), rng=rng, window=3), (2, 2))
    np.testing.assert_array_equal(fvsbn == plot.INFLUENCES, (raster >= 7) & (raster < 10))
    np.testing.assert_array_equal(fvsbn == plot.BLIND, raster < 7)  # AR(3) misses the rest
    made = MADE((1, 4, 4), rng=rng, hidden=[32], num_masks=1, ordering="random")
    roles = plot.receptive_field(made, (1, 1))
    rank = np.argsort(made.order).reshape(4, 4)  # when each pixel is generated
    assert not np.isin(plot.LEAK, roles)
    np.testing.assert_array_equal(np.isin(roles, [plot.INFLUENCES, plot.BLIND]),
                                  rank < rank[1, 1])


def test_plot_receptive_fields_draws_one_panel_per_model(tmp_path: Path, drawn: list) -> None:
    from minigen.models.autoregressive.diagonal_bilstm import DiagonalBiLSTM
    models = {"PixelCNN": _tiny_pixelcnn(),
              "Diagonal BiLSTM": DiagonalBiLSTM((1, 5, 5), rng=np.random.default_rng(0),
                                                channels=2, num_layers=1)}
    assert_valid_png(plot.plot_receptive_fields(models, tmp_path / "rfs.png", (2, 1)))
    pixelcnn, bilstm = drawn[0][0]["images"][0], drawn[0][1]["images"][0]
    assert "PixelCNN" in drawn[0][0]["title"] and "BiLSTM" in drawn[0][1]["title"]
    assert (pixelcnn == plot.BLIND).any() and not (bilstm == plot.BLIND).any()
    with pytest.raises(ValueError, match="one image shape"):
        plot.plot_receptive_fields({"a": _tiny_pixelcnn(), "b": _tiny_pixelcnn((1, 6, 6))},
                                   tmp_path / "bad.png")


def _tiny(name: str):
    """Tiny real models with (or without) the capabilities the hooks look for."""
    rng = np.random.default_rng(0)
    if name == "rbm":
        from minigen.models.energy.rbm import RBM
        return RBM((1, 4, 4), rng=rng, hidden=3)
    if name == "gsn":
        from minigen.models.energy.gsn import GSN
        return GSN((1, 4, 4), rng=rng, hidden=[8])
    if name == "dae":
        from minigen.models.latent.denoising_autoencoder import DenoisingAutoencoder
        return DenoisingAutoencoder((1, 4, 4), rng=rng, hidden=[8], latent_dim=3)
    if name == "pixelcnn":
        return _tiny_pixelcnn((1, 4, 4))
    if name == "vqvae":
        from minigen.models.latent.vqvae import VQVAE
        return VQVAE((1, 4, 4), rng=rng, num_embeddings=4, embedding_dim=2, hidden=4,
                     prior_channels=4, prior_blocks=1)
    from minigen.models.latent.adversarial_autoencoder import AdversarialAutoencoder
    return AdversarialAutoencoder((1, 4, 4), rng=rng, latent_dim=2, prior="mixture10",
                                  hidden=[8], discriminator_hidden=[4])


@pytest.mark.parametrize("name, expected", [
    ("rbm", {"samples.png", "chain.png"}),
    ("gsn", {"samples.png", "reconstructions.png", "chain.png"}),  # corrupt, but no denoise
    ("dae", {"reconstructions.png", "latent.png", "denoising.png"}),
    ("pixelcnn", {"samples.png", "completions.png", "receptive_field.png"}),
    ("vqvae", {"samples.png", "reconstructions.png", "codebook.png"}),
    ("aae", {"samples.png", "reconstructions.png", "latent.png"}),
])
def test_each_capability_hook_fires_exactly_for_the_models_that_have_it(
    tmp_path: Path, name: str, expected: set
) -> None:
    x = (np.random.default_rng(1).random((12, 1, 4, 4)) < 0.4).astype(np.float32)
    written = plot.make_run_plots(_tiny(name), tmp_path, x, np.arange(12) % 3, HISTORY,
                                  np.random.default_rng(0), "tiny")
    assert {Path(p).name for p in written} == {"loss.png"} | expected
    for path in written:
        assert_valid_png(path)


def test_rbm_and_gsn_chains_return_every_frame_from_x0(tmp_path: Path) -> None:
    x0 = (np.random.default_rng(1).random((3, 1, 4, 4)) < 0.5).astype(np.float32)
    for name in ("rbm", "gsn"):
        frames = _tiny(name).chain(x0, 5, np.random.default_rng(0))
        assert frames.shape == (6, 3, 1, 4, 4)
        np.testing.assert_array_equal(frames[0], x0)
        assert np.isin(frames, (0, 1)).all()
    rbm = _tiny("rbm")
    np.testing.assert_array_equal(rbm.chain(x0, 5, np.random.default_rng(2)),
                                  rbm.gibbs_chain(x0, 5, np.random.default_rng(2), every=1))


def test_chain_groups_get_one_panel_each_with_step_numbers(tmp_path: Path, drawn: list
                                                           ) -> None:
    frames = _images(4 * 2).reshape(4, 2, 1, 8, 8)
    steps = [0, 1, 10, 100]
    assert_valid_png(plot.plot_chain({"from noise": frames, "from data": frames},
                                     tmp_path / "chain.png", steps=steps))
    assert [ax["title"] for ax in drawn[0]] == ["from noise", "from data"]
    assert all(ax["xticklabels"] == [str(s) for s in steps] for ax in drawn[0])
    with pytest.raises(ValueError, match="one T for every group"):
        plot.plot_chain({"a": frames, "b": frames[:3]}, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="one step number per frame"):
        plot.plot_chain(frames, tmp_path / "bad.png", steps=[0, 1])


def test_denoising_rows_share_the_clean_images_grey_scale(tmp_path: Path, drawn: list
                                                          ) -> None:
    clean = _images(3)
    corrupted = clean.copy()
    corrupted[:, :, 0, 0] = -0.7  # Gaussian noise can leave [0, 1]; it must not rescale
    plot.plot_denoising(clean, corrupted, clean, tmp_path / "denoising.png")
    rows = [ax["images"][0] for ax in drawn[0]]
    assert [ax["title"] for ax in drawn[0]] == ["clean", "corrupted", "denoised"]
    noisy = np.zeros_like(rows[0], dtype=bool)
    noisy[1, [1 + k * 9 for k in range(3)]] = True  # tile k's top-left pixel (padding 1)
    np.testing.assert_allclose(rows[1][~noisy], rows[0][~noisy])
    np.testing.assert_allclose(rows[2], rows[0])
    assert (rows[1][noisy] == 0).all()  # clipped to black, not a shifted grey scale


def test_code_usage_title_gives_the_perplexity_of_the_counts(tmp_path: Path, drawn: list
                                                             ) -> None:
    codes = np.array([[0, 0], [1, 3]])  # frequencies 1/2, 1/4, 0, 1/4 over K = 4
    assert_valid_png(plot.plot_code_usage(codes, 4, tmp_path / "codes.png"))
    perplexity = 2 ** 1.5  # exp(H) with H = 1.5 bits
    assert f"perplexity {perplexity:.1f} of 4, 3/4 codes used" in drawn[0][0]["title"]


@given(hnp.arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(2, 12)),
                  elements=st.floats(-100, 100)))
def test_top_variance_dims_have_variance_at_least_every_other_dim(z: np.ndarray) -> None:
    dims = plot.top_variance_dims(z)
    variance = z.var(axis=0)
    assert len(set(dims.tolist())) == 2 and variance[dims[0]] >= variance[dims[1]]
    others = np.delete(variance, dims)
    assert (others <= variance[dims[1]]).all()


def test_latent_scatter_draws_the_active_dims_over_grey_prior_samples(
    tmp_path: Path, drawn: list
) -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 0.01, (50, 6))  # collapsed units, but for dims 4 and 1
    z[:, 4] *= 300
    z[:, 1] *= 100
    prior = rng.normal(size=(40, 6))
    assert_valid_png(plot.plot_latent_scatter(z, rng.integers(0, 3, 50), tmp_path / "l.png",
                                              prior=prior))
    ax = drawn[0][0]
    assert (ax["xlabel"], ax["ylabel"]) == ("z[4]", "z[1]")
    offsets, zorder, colour = ax["points"][0]  # drawn first and beneath: the prior
    np.testing.assert_allclose(offsets, prior[:, [4, 1]])
    assert zorder < min(points[1] for points in ax["points"][1:])
    np.testing.assert_allclose(colour[0, :3], colour[0, 0])  # grey
    with pytest.raises(ValueError, match=r"prior must be \(M, 6\)"):
        plot.plot_latent_scatter(z, None, tmp_path / "bad.png", prior=prior[:, :2])
