"""Figures of the adversarial models (matplotlib; written by ``gan_bench.py``).

* :func:`sample_grid` — a grid of digits in [−1, 1];
* :func:`toy_panel` — 2-D samples over the data, on the discriminator's output d(x) as a
  filled contour with the line D(x) = ½ (d = 0; a critic's level 0 for WGAN-GP);
* :func:`class_rows` — the conditional GAN, one row per class;
* :func:`infogan_figures` — one row per category c₁; each continuous code swept from −2
  to 2 (outside its training range U(−1, 1), as in the paper) with the category fixed
  per row and the noise fixed per row.

Until ``minigen/plot.py`` takes these over they live beside the benchmark.
"""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import autograd as ag  # noqa: E402


def _tile(images: np.ndarray, rows: int) -> np.ndarray:
    """(rows·cols, 1, 8, 8) -> one image with a one-pixel border around each digit."""
    images = np.asarray(images).reshape(rows, -1, 8, 8)
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1)
    r, c = padded.shape[:2]
    return padded.transpose(0, 2, 1, 3).reshape(r * 10, c * 10)


def _save_tiles(tiles: np.ndarray, path: str, title: str, ylabel: str = "") -> None:
    figure, axis = plt.subplots(figsize=(tiles.shape[1] / 16, tiles.shape[0] / 16 + 0.5))
    axis.imshow(tiles, cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(title, fontsize=9)
    axis.set_ylabel(ylabel, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def sample_grid(samples: np.ndarray, path: str, title: str) -> None:
    """samples : (100, 1, 8, 8) in [−1, 1] -> a 10×10 grid."""
    _save_tiles(_tile(samples[:100], 10), path, f"{title}: samples")


def toy_panel(model: Any, samples: np.ndarray, data: np.ndarray, path: str, title: str) -> None:
    """samples, data : (N, 2). D is evaluated on packs of identical points for pack > 1."""
    limit = np.abs(data).max() * 1.4
    axis_values = np.linspace(-limit, limit, 150)
    xx, yy = np.meshgrid(axis_values, axis_values)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    with ag.no_grad():
        logits = model.discriminator_logits(np.repeat(points, model.pack, axis=0)).data
    figure, axis = plt.subplots(figsize=(5, 5))
    filled = axis.contourf(xx, yy, logits.reshape(xx.shape), levels=20, cmap="RdBu_r",
                           alpha=0.6)
    axis.contour(xx, yy, logits.reshape(xx.shape), levels=[0.0], colors="k", linewidths=1)
    axis.scatter(data[:, 0], data[:, 1], s=2, c="k", label="data")
    axis.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:orange", alpha=0.5, label="samples")
    axis.set_xlim(-limit, limit)
    axis.set_ylim(-limit, limit)
    axis.set_aspect("equal")
    axis.legend(loc="upper right", fontsize=7, markerscale=4)
    figure.colorbar(filled, ax=axis, fraction=0.046, label="d(x) (black line: d = 0)")
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def class_rows(model: Any, path: str, per_class: int = 10) -> None:
    """Row k: ``per_class`` samples of class k from a conditional model."""
    labels = np.repeat(np.arange(model.num_classes), per_class)
    samples = model.sample(len(labels), np.random.default_rng(0), y=labels)
    _save_tiles(_tile(samples, model.num_classes), path, "cGAN: one row per class 0–9")


def infogan_figures(model: Any, folder: str, columns: int = 10) -> None:
    """infogan-categories.png and infogan-sweep-c{j}.png in ``folder``."""
    rng = np.random.default_rng(0)
    categories = np.repeat(np.arange(model.categories), columns)
    continuous = rng.uniform(-1, 1, (len(categories), model.continuous))
    samples = model.sample_with_codes(categories, continuous, rng)
    _save_tiles(_tile(samples, model.categories), os.path.join(folder, "infogan-categories.png"),
                "InfoGAN: one row per category c1 (noise and c2, c3 random)")
    for j in range(model.continuous):
        sweep = np.zeros((len(categories), model.continuous))
        sweep[:, j] = np.tile(np.linspace(-2, 2, columns), model.categories)
        noise = np.repeat(model.noise(model.categories, rng), columns, axis=0)
        z = model.generator_input(noise, categories, sweep)
        model.generator.eval()
        with ag.no_grad():
            images = model.generate(z).data
        _save_tiles(_tile(images, model.categories),
                    os.path.join(folder, f"infogan-sweep-c{j + 2}.png"),
                    f"InfoGAN: c{j + 2} from −2 to 2 (columns), one category per row")
