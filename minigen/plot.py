"""PNG figures of a run: loss curves, sample grids, reconstructions, latents, chains.

Matplotlib with the Agg backend (files only, no display needed). Every function writes
one PNG at ``DPI`` and closes its figure, so a long session does not accumulate them.
Images are NCHW arrays in [0, 1], {0, 1} or [−1, 1] (detected from their values: any
negative value means [−1, 1]); one channel is drawn in grey, three as RGB.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files, never open a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from autograd import no_grad  # noqa: E402
from minigen.evaluate import takes_labels  # noqa: E402

DPI = 100
UNKNOWN_GREY = 0.5  # the colour of pixels a completion was not given
PathLike = str | os.PathLike


def _save(fig: Any, path: PathLike) -> str:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return str(path)


def _check_images(images: Any, name: str) -> np.ndarray:
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"{name} must be images (N, C, H, W) with C = 1 or 3, got shape "
                         f"{images.shape}")
    return images


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """Map images to [0, 1]: [−1, 1] (any negative value) is shifted, grey levels above 1
    (e.g. 0–16) are divided by the maximum; the result is clipped to [0, 1]."""
    images = np.asarray(images, dtype=np.float64)
    if images.size and images.min() < 0:
        images = (images + 1.0) / 2.0  # [−1, 1] -> [0, 1]
    elif images.size and images.max() > 1:
        images = images / images.max()
    return np.clip(images, 0.0, 1.0)


def tile_images(images: np.ndarray, nrow: int, padding: int = 1, pad_value: float = 0.4
                ) -> np.ndarray:
    """Lay (N, C, H, W) images in [0, 1] out in rows of ``nrow`` (as torchvision's make_grid).

    Returns (rows·(H+p)+p, nrow·(W+p)+p) for one channel, with a trailing 3 for RGB.
    """
    count, channels, height, width = images.shape
    columns = max(1, min(nrow, count))
    rows = math.ceil(count / columns)
    grid = np.full((channels, rows * (height + padding) + padding,
                    columns * (width + padding) + padding), pad_value)
    for index in range(count):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[:, top:top + height, left:left + width] = images[index]
    return grid[0] if channels == 1 else grid.transpose(1, 2, 0)


def _show_grid(ax: Any, images: np.ndarray, nrow: int) -> None:
    ax.imshow(tile_images(to_unit_range(images), nrow), cmap="gray", vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_axis_off()


def _grid_figure(tiles: list[tuple[np.ndarray, int, str]], width: float = 6.0) -> Any:
    """One figure with the image grids ``(images, nrow, title)`` stacked vertically."""
    heights = []
    for images, nrow, _ in tiles:
        rows = math.ceil(len(images) / max(1, min(nrow, len(images))))
        heights.append(rows * images.shape[2] / (min(nrow, len(images)) * images.shape[3]))
    fig, axes = plt.subplots(len(tiles), 1, figsize=(width, width * sum(heights) + 0.6 *
                                                     len(tiles)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (images, nrow, title) in zip(axes[:, 0], tiles):
        _show_grid(ax, images, nrow)
        ax.set_title(title)
    return fig


# ----- the figures ------------------------------------------------------------------
def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average; the first window−1 points average what exists so far."""
    values = np.asarray(values, dtype=np.float64)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (sums[1:] - sums[np.arange(1, len(values) + 1) - counts]) / counts


def plot_loss(history: dict[str, Any], path: PathLike) -> str:
    """Per-step training values (raw, faint, and smoothed) and the per-epoch test loss.

    history : ``{"train": {name: [per step]}, "test": [{"step": s, "loss": l, ...}]}``
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in history.get("train", {}).items():
        values = np.asarray(values, dtype=np.float64)
        steps = np.arange(1, len(values) + 1)
        (line,) = ax.plot(steps, values, alpha=0.25, linewidth=0.8)
        window = max(1, len(values) // 25)
        ax.plot(steps, smooth(values, window), color=line.get_color(),
                label=f"train {name} (mean of {window})" if window > 1 else f"train {name}")
    test = [entry for entry in history.get("test", []) if "loss" in entry]
    if test:
        ax.plot([entry["step"] for entry in test], [entry["loss"] for entry in test], "o-",
                color="black", label="test loss (per epoch)")
    ax.set_xlabel("step")
    ax.set_ylabel("nats per example")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return _save(fig, path)


def plot_image_grid(images: Any, path: PathLike, nrow: int = 8, title: str | None = None
                    ) -> str:
    """A grid of images (N, C, H, W) in [0, 1], {0, 1} or [−1, 1], ``nrow`` per row."""
    images = _check_images(images, "images")
    fig = _grid_figure([(images, nrow, title or "")], width=min(8.0, 0.6 * min(nrow,
                                                                               len(images)) + 1))
    return _save(fig, path)


def plot_reconstructions(x: Any, x_rec: Any, path: PathLike, nrow: int = 16) -> str:
    """Originals (N, C, H, W) above their reconstructions (same shape)."""
    x, x_rec = _check_images(x, "x"), _check_images(x_rec, "x_rec")
    if x.shape != x_rec.shape:
        raise ValueError(f"x has shape {x.shape} but x_rec has shape {x_rec.shape}; "
                         "they must match")
    fig = _grid_figure([(x, nrow, "data"), (x_rec, nrow, "reconstruction")], width=8.0)
    return _save(fig, path)


def plot_latent_scatter(z: Any, labels: Any, path: PathLike) -> str:
    """The first two latent dimensions of z (N, d), coloured by label (d = 1: against 0)."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"z must be (N, d) latent codes, got shape {z.shape}")
    second = z[:, 1] if z.shape[1] > 1 else np.zeros(len(z))
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    if labels is None:
        ax.scatter(z[:, 0], second, s=6, alpha=0.7)
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(z),):
            raise ValueError(f"labels must have shape ({len(z)},), got {labels.shape}")
        classes = np.unique(labels)
        if len(classes) <= 10:  # a legend entry per class reads better than a colour scale
            for index, label in enumerate(classes):
                chosen = labels == label
                ax.scatter(z[chosen, 0], second[chosen], s=6, alpha=0.8, color=f"C{index}",
                           label=str(label))
            ax.legend(title="label", markerscale=2.5, fontsize="small", loc="center left",
                      bbox_to_anchor=(1.01, 0.5))
        else:
            points = ax.scatter(z[:, 0], second, c=labels, s=6, alpha=0.8, cmap="viridis")
            fig.colorbar(points, ax=ax, label="label")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]" if z.shape[1] > 1 else "(one latent dimension)")
    ax.set_title(f"latent codes (first two of {z.shape[1]} dims)")
    return _save(fig, path)


def plot_points_2d(samples: Any, path: PathLike, reference: Any = None,
                   labels: Any = None) -> str:
    """Samples (N, 2) of a 2-D toy set over the data (``reference``, grey)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"samples must be 2-D points (N, 2), got shape {samples.shape}")
    fig, ax = plt.subplots(figsize=(5, 5))
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64)
        ax.scatter(reference[:, 0], reference[:, 1], s=3, color="0.7", label="data")
    if labels is None:
        ax.scatter(samples[:, 0], samples[:, 1], s=3, color="C0", label="samples")
    else:
        ax.scatter(samples[:, 0], samples[:, 1], s=3, c=labels, cmap="tab10", label="samples")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=3)
    return _save(fig, path)


def plot_completions(x_top_given: Any, completions: Any, path: PathLike) -> str:
    """Given top halves (N, C, H, W; the bottom ⌈H/2⌉ rows shown grey) above completions.

    completions : (N, C, H, W), or (S, N, C, H, W) for S completions of each image
    """
    given = to_unit_range(_check_images(x_top_given, "x_top_given"))
    completions = np.asarray(completions, dtype=np.float64)
    if completions.ndim == 4:
        completions = completions[None]
    if completions.shape[1:] != given.shape:
        raise ValueError(f"completions must be {given.shape} or (S, *{given.shape}), got "
                         f"{completions.shape}")
    given[:, :, given.shape[2] // 2:, :] = UNKNOWN_GREY
    tiles = [(given, len(given), "given (top half)")]
    tiles += [(draw, len(given), f"completion {i + 1}") for i, draw in enumerate(completions)]
    return _save(_grid_figure(tiles, width=min(8.0, 0.6 * len(given) + 1)), path)


def plot_chain(frames: Any, path: PathLike) -> str:
    """Markov chains (T, N, C, H, W): one row per chain, one column per step."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 5:
        raise ValueError(f"frames must be (T, N, C, H, W), got shape {frames.shape}")
    steps, chains = frames.shape[:2]
    images = frames.transpose(1, 0, 2, 3, 4).reshape(steps * chains, *frames.shape[2:])
    fig = _grid_figure([(_check_images(images, "frames"), steps,
                         "Markov chain: one row per chain, steps left to right")],
                       width=min(10.0, 0.6 * steps + 1))
    return _save(fig, path)


# ----- everything that applies to one trained model -----------------------------------
def _sample(model: Any, n: int, rng: np.random.Generator, num_classes: int | None
            ) -> tuple[np.ndarray, np.ndarray | None]:
    if num_classes is None:
        return np.asarray(model.sample(n, rng)), None
    labels = np.repeat(np.arange(num_classes), math.ceil(n / num_classes))
    return np.asarray(model.sample(len(labels), rng, y=labels)), labels


def _plot_samples(model: Any, path: Path, x_test: np.ndarray, rng: np.random.Generator,
                  num_classes: int | None, data_name: str) -> list[str]:
    """samples.png as an image grid or 2-D points; nothing for a model that cannot sample."""
    images = x_test.ndim == 4
    try:
        samples, labels = _sample(model, 8 * (num_classes or 8) if images else 1000, rng,
                                  num_classes)
    except NotImplementedError:  # e.g. a plain autoencoder: no distribution to sample
        return []
    if not images:
        return [plot_points_2d(samples, path, x_test, labels)]
    title = (f"samples, one row per class ({data_name})" if num_classes is not None
             else f"samples ({data_name})")
    return [plot_image_grid(samples, path, 8, title)]


def make_run_plots(
    model: Any,
    run_dir: PathLike,
    x_test: np.ndarray,
    y_test: np.ndarray | None,
    history: dict[str, Any],
    rng: np.random.Generator,
    data_name: str,
) -> list[str]:
    """Write every figure the model's capabilities allow into ``run_dir``; return the paths.

    loss.png always; samples.png (an image grid, or 2-D points over the data; conditional
    models, those whose ``sample`` takes ``y=``, one row per class; none when ``sample``
    raises NotImplementedError, as a plain autoencoder's does); reconstructions.png
    with ``reconstruct``; latent.png with ``encode``; completions.png with ``complete``
    (images only).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_loss(history, run_dir / "loss.png")]
    images = np.asarray(x_test).ndim == 4
    points = np.asarray(x_test).ndim == 2 and x_test.shape[1] == 2
    conditional = takes_labels(model.sample)
    num_classes = None
    if conditional:
        num_classes = int(getattr(model, "num_classes", 0) or np.max(y_test) + 1)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            if images or points:
                written += _plot_samples(model, run_dir / "samples.png", x_test, rng,
                                         num_classes, data_name)
            if images and hasattr(model, "reconstruct"):
                originals = x_test[:16]
                labels = {"y": y_test[:16]} if takes_labels(model.reconstruct) else {}
                written.append(plot_reconstructions(
                    originals, np.asarray(model.reconstruct(originals, rng, **labels)),
                    run_dir / "reconstructions.png"))
            if hasattr(model, "encode"):
                subset = slice(0, 1000)
                labels = {"y": y_test[subset]} if takes_labels(model.encode) else {}
                written.append(plot_latent_scatter(
                    np.asarray(model.encode(x_test[subset], **labels)),
                    None if y_test is None else y_test[subset], run_dir / "latent.png"))
            if images and hasattr(model, "complete"):
                given = x_test[:8]
                draws = np.stack([np.asarray(model.complete(given, rng)) for _ in range(3)])
                written.append(plot_completions(given, draws, run_dir / "completions.png"))
    finally:
        model.train(was_training)
    return written
