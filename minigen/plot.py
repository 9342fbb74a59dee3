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

import matplotlib.colors  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from autograd import no_grad  # noqa: E402
from minigen.data import image_range  # noqa: E402
from minigen.models.base import (  # noqa: E402
    Autoregressive,
    ChainSampler,
    Completes,
    Denoiser,
    DiscreteCodes,
    Encoder,
    Model,
    PriorSampler,
    Reconstructs,
    ShowsRows,
)
from minigen.nn import influence_map  # noqa: E402
from minigen.nn.quantize import code_counts, code_perplexity  # noqa: E402

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


def plot_loss(history: dict[str, Any], path: PathLike, unit: str = "nats per example") -> str:
    """Per-step training values (raw, faint, and smoothed) and the per-epoch test loss.

    history : ``{"train": {name: [per step]}, "test": [{"step": s, "loss": l, ...}]}``
    unit : what the loss is measured in (the model's ``loss_unit``), for the y label
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
    ax.set_ylabel(unit)
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
    # on the data's grey scale: a Gaussian mean slightly below 0 is not a [−1, 1] image
    x_rec = _on_unit_range_of(x_rec, x)
    fig = _grid_figure([(x, nrow, "data"), (x_rec, nrow, "reconstruction")], width=8.0)
    return _save(fig, path)


def plot_labelled_rows(rows: dict[str, Any], path: PathLike, title: str,
                       reference: Any | None = None) -> str:
    """One image row per label: ``rows`` {label: images (k, C, H, W)}, top to bottom.

    Every row is drawn on the grey scale of ``reference`` (e.g. the test images), or of the
    rows themselves when it is None, so the same value is the same grey in every row.
    """
    if not rows:
        raise ValueError("rows is empty; need at least one {label: images} row")
    checked = {label: _check_images(images, f"rows[{label!r}]") for label, images in
               rows.items()}
    scale = (np.concatenate([images.ravel() for images in checked.values()])
             if reference is None else np.asarray(reference))
    width = max(len(images) for images in checked.values())
    fig = _grid_figure([(_on_unit_range_of(images, scale), width, label)
                        for label, images in checked.items()], width=min(12.0, 1.0 * width))
    height = fig.get_figheight()  # a title band of ~0.5 inch, whatever the number of rows
    fig.subplots_adjust(top=1 - 0.55 / height, bottom=0.1 / height)
    fig.suptitle(title, y=1 - 0.1 / height)
    return _save(fig, path)


def top_variance_dims(z: Any, k: int = 2) -> np.ndarray:
    """Indices of the ``k`` columns of z (N, d) with the largest variance, largest first.

    Ties go to the lower index. A VAE's inactive units have codes near 0 for every input,
    so the first two columns are often the least informative pair to draw.
    """
    z = np.asarray(z, dtype=np.float64)
    return np.argsort(-z.var(axis=0), kind="stable")[:k]


def plot_latent_scatter(z: Any, labels: Any, path: PathLike, prior: Any = None) -> str:
    """Latent codes z (N, d) on their two dimensions of largest variance, coloured by label.

    d = 1: against 0. ``prior`` (M, d): samples from the prior, drawn in grey beneath the
    codes on the same two dimensions (an adversarial autoencoder's target shape).
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"z must be (N, d) latent codes, got shape {z.shape}")
    dims = top_variance_dims(z) if z.shape[1] > 2 else np.arange(z.shape[1])
    first = z[:, dims[0]]
    second = z[:, dims[1]] if len(dims) > 1 else np.zeros(len(z))
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    if prior is not None:
        prior = np.asarray(prior, dtype=np.float64)
        if prior.ndim != 2 or prior.shape[1] != z.shape[1]:
            raise ValueError(f"prior must be (M, {z.shape[1]}) samples like z, got shape "
                             f"{prior.shape}")
        prior_second = prior[:, dims[1]] if len(dims) > 1 else np.zeros(len(prior))
        ax.scatter(prior[:, dims[0]], prior_second, s=4, color="0.75", alpha=0.6,
                   label="prior samples", zorder=0)
    if labels is None:
        ax.scatter(first, second, s=6, alpha=0.7,
                   label="codes" if prior is not None else None)
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(z),):
            raise ValueError(f"labels must have shape ({len(z)},), got {labels.shape}")
        classes = np.unique(labels)
        if len(classes) <= 10:  # a legend entry per class reads better than a colour scale
            for index, label in enumerate(classes):
                chosen = labels == label
                ax.scatter(first[chosen], second[chosen], s=6, alpha=0.8, color=f"C{index}",
                           label=str(label))
        else:
            points = ax.scatter(first, second, c=labels, s=6, alpha=0.8, cmap="viridis")
            fig.colorbar(points, ax=ax, label="label")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title=None if labels is None else "label", markerscale=2.5,
                  fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_xlabel(f"z[{dims[0]}]")
    ax.set_ylabel(f"z[{dims[1]}]" if len(dims) > 1 else "(one latent dimension)")
    if z.shape[1] > 2:
        title = f"latent codes: the 2 of {z.shape[1]} dims of largest variance"
    else:
        title = f"latent codes ({z.shape[1]}-D)"
    ax.set_title(title + (", over prior samples (grey)" if prior is not None else ""))
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


def _label_steps(ax: Any, steps: Any, width: int) -> None:
    """Write the step number of each column of a chain grid under it."""
    ax.set_axis_on()
    ax.set_xticks([1 + column * (width + 1) + (width - 1) / 2 for column in range(len(steps))])
    ax.set_xticklabels([str(step) for step in steps], fontsize="small")
    ax.set_yticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_chain(frames: Any, path: PathLike, title: str | None = None,
               steps: Any = None) -> str:
    """Markov chains: one row per chain, one column per frame.

    frames : (T, N, C, H, W), or a dict of such arrays (same T), one panel per entry
        titled by its key (e.g. chains started from noise and from data).
    steps : (T,) the step number of each frame, written under its columns (default
        unlabelled: consecutive steps).
    """
    groups = frames if isinstance(frames, dict) else {"": frames}
    tiles, count, width = [], None, 0
    for name, group in groups.items():
        group = np.asarray(group, dtype=np.float64)
        if group.ndim != 5 or (count is not None and group.shape[0] != count):
            raise ValueError(f"frames must be (T, N, C, H, W) with one T for every group, got "
                             f"shape {group.shape}" + (f" for {name!r}" if name else ""))
        count, width = group.shape[0], group.shape[4]
        images = group.transpose(1, 0, 2, 3, 4).reshape(-1, *group.shape[2:])
        tiles.append((_check_images(images, "frames"), count, name))
    if not tiles:
        raise ValueError("frames must hold at least one group of chains, got an empty dict")
    if steps is not None and len(steps) != count:
        raise ValueError(f"steps must give one step number per frame ({count}), got "
                         f"{len(steps)}")
    fig = _grid_figure(tiles, width=min(10.0, 0.6 * count + 1))
    fig.suptitle(title or "Markov chains: one row per chain, steps left to right")
    if steps is not None:
        for ax in fig.axes:
            _label_steps(ax, steps, width)
        fig.axes[-1].set_xlabel("step")
    return _save(fig, path)


def on_data_scale(images: Any, data_name: str, reference: Any | None = None) -> np.ndarray:
    """Images mapped to [0, 1] by their data set's value range (``minigen.data.image_range``),
    clipped: the one grey scale every figure of that data set uses. Data sets without a
    range fall back to the convention of ``reference`` (or of the images themselves)."""
    images = np.asarray(images, dtype=np.float64)
    value_range = image_range(data_name)
    if value_range is None:
        return _on_unit_range_of(images, images if reference is None else np.asarray(reference))
    low, high = value_range
    return np.clip((images - low) / (high - low), 0.0, 1.0)


def _on_unit_range_of(images: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``images`` mapped to [0, 1] by the range convention of ``reference`` (clipped), so a
    noisy copy of an image is drawn on the same grey scale as the image."""
    low = -1.0 if reference.min() < 0 else 0.0
    high = max(1.0, float(reference.max()))
    return np.clip((images - low) / (high - low), 0.0, 1.0)


def plot_denoising(clean: Any, corrupted: Any, denoised: Any, path: PathLike,
                   nrow: int = 16) -> str:
    """Clean images (N, C, H, W) above their corruptions above the model's clean estimates.

    All three rows share the grey scale of ``clean`` (corrupted values outside it, e.g.
    from Gaussian noise, are clipped for display).
    """
    clean = _check_images(clean, "clean")
    corrupted, denoised = _check_images(corrupted, "corrupted"), _check_images(denoised,
                                                                                "denoised")
    if not clean.shape == corrupted.shape == denoised.shape:
        raise ValueError(f"clean {clean.shape}, corrupted {corrupted.shape} and denoised "
                         f"{denoised.shape} must have the same shape")
    rows = [_on_unit_range_of(images, clean) for images in (clean, corrupted, denoised)]
    fig = _grid_figure([(rows[0], nrow, "clean"), (rows[1], nrow, "corrupted"),
                        (rows[2], nrow, "denoised")], width=8.0)
    return _save(fig, path)


def plot_code_usage(codes: Any, num_codes: int, path: PathLike, title: str | None = None
                    ) -> str:
    """Bar chart of how often each of the K = ``num_codes`` codes appears in ``codes``
    (integer code indices, any shape); the title gives the perplexity exp(H(p̄)) and the
    number of codes used."""
    counts = code_counts(codes, num_codes)
    if counts.sum() == 0:
        raise ValueError(f"codes must hold at least one code index, got shape "
                         f"{np.shape(codes)}")
    perplexity = code_perplexity(codes, num_codes)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.18 * num_codes + 2), 3.5))
    ax.bar(np.arange(num_codes), counts, width=0.8)
    ax.axhline(counts.sum() / num_codes, color="black", linewidth=0.8, linestyle="--",
               label="uniform use")
    ax.set_xlabel("code index")
    ax.set_ylabel("count")
    ax.set_xlim(-0.7, num_codes - 0.3)
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title((title + "\n" if title else "") + f"perplexity {perplexity:.1f} of "
                 f"{num_codes}, {int((counts > 0).sum())}/{num_codes} codes used")
    return _save(fig, path)


# ----- receptive fields of autoregressive image models -------------------------------
class _LogitsAsImage:
    """A model's ``logits`` seen as (N, 1, H, W), one number per pixel, for influence_map.

    Vector models (FVSBN, NADE, MADE) return (N, D) in raster order; models with several
    parameters per pixel (RNADE's (N, D, 3, K)) are summed over them, which is non-zero
    wherever one of them depends on the input (up to an exact cancellation, which random
    inputs make improbable).
    """

    def __init__(self, model: Any, shape: tuple[int, int]) -> None:
        self.model, self.shape = model, shape

    def parameters(self) -> list[Any]:
        return self.model.parameters()

    def logits(self, x: Any) -> Any:
        height, width = self.shape
        out = self.model.logits(x)
        if out.shape[0] != x.shape[0] or math.prod(out.shape[1:]) % (height * width):
            raise ValueError(f"{type(self.model).__name__}.logits returned shape {out.shape}; "
                             f"expected (N, 1, {height}, {width}), (N, {height * width}) or "
                             f"(N, {height * width}, ...) for images (N, 1, {height}, {width})")
        per_pixel = out.reshape(out.shape[0], height * width, -1).sum(axis=2)
        return per_pixel.reshape(out.shape[0], 1, height, width)


FUTURE, INFLUENCES, BLIND, TARGET, LEAK = range(5)
_FIELD_COLOURS = {FUTURE: ("white", "later pixel"), INFLUENCES: ("#3b75af", "earlier, seen"),
                  BLIND: ("#f28e2b", "earlier, NOT seen (blind spot or out of reach)"),
                  TARGET: ("black", "target pixel"), LEAK: ("#d62728", "later, seen (leak!)")}


def _image_shape(model: Any, shape: tuple[int, int] | None) -> tuple[int, int]:
    if shape is not None:
        return int(shape[0]), int(shape[1])
    data_shape = tuple(getattr(model, "data_shape", ()))
    if len(data_shape) != 3 or data_shape[0] != 1:
        raise ValueError(f"{type(model).__name__} has data_shape {data_shape!r}; pass shape="
                         "(H, W) for a model of one-channel images")
    return data_shape[1], data_shape[2]


def receptive_field(model: Any, pixel: tuple[int, int], shape: tuple[int, int] | None = None
                    ) -> np.ndarray:
    """Each pixel's role for the logit of ``pixel``: (H, W) ints, one of FUTURE,
    INFLUENCES, BLIND, TARGET, LEAK.

    "Earlier" is the model's generation order: raster order, or ``model.order`` (the
    dimensions in generation order, as MADE's current mask has it). The influence is
    :func:`minigen.nn.influence_map`'s, i.e. the support of ∂l_ij/∂x computed by autograd.
    BLIND marks every earlier pixel the logit cannot see: a blind spot of the architecture
    (PixelCNN's wedge up and to the right) or pixels beyond the reach of a finite stack.
    """
    height, width = _image_shape(model, shape)
    i, j = pixel
    influence = influence_map(_LogitsAsImage(model, (height, width)), i, j, (height, width))
    order = np.asarray(getattr(model, "order", np.arange(height * width)))
    rank = np.empty(height * width, dtype=np.int64)
    rank[order] = np.arange(height * width)  # rank[d]: when dimension d is generated
    earlier = (rank < rank[i * width + j]).reshape(height, width)
    roles = np.where(earlier, np.where(influence, INFLUENCES, BLIND),
                     np.where(influence, LEAK, FUTURE))
    roles[i, j] = LEAK if influence[i, j] else TARGET
    return roles


def _draw_field(ax: Any, roles: np.ndarray, title: str) -> None:
    colours = matplotlib.colors.ListedColormap([_FIELD_COLOURS[k][0] for k in range(5)])
    ax.imshow(roles, cmap=colours, vmin=-0.5, vmax=4.5, interpolation="nearest")
    height, width = roles.shape
    ax.set_xticks(np.arange(-0.5, width), minor=True)
    ax.set_yticks(np.arange(-0.5, height), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.6)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    blind = int((roles == BLIND).sum())
    earlier = blind + int((roles == INFLUENCES).sum())
    ax.set_title(f"{title}\nsees {earlier - blind} of {earlier} earlier pixels", fontsize=10)


def _field_figure(panels: list[tuple[np.ndarray, str]], suptitle: str) -> Any:
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels) + 0.4, 3.9),
                             squeeze=False)
    for ax, (roles, title) in zip(axes[0], panels):
        _draw_field(ax, roles, title)
    present = sorted(set().union(*(np.unique(roles).tolist() for roles, _ in panels)))
    handles = [matplotlib.patches.Patch(facecolor=_FIELD_COLOURS[k][0], edgecolor="0.4",
                                        label=_FIELD_COLOURS[k][1]) for k in present]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize="small",
               frameon=False)
    fig.suptitle(suptitle)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def wedge_pixel(shape: tuple[int, int]) -> tuple[int, int]:
    """A pixel below and left of the centre, (⌊5H/8⌋, ⌊W/4⌋): far enough from the right edge
    that a PixelCNN's blind spot, the wedge up and to its right, fits in the image."""
    height, width = shape
    return 5 * height // 8, width // 4


def default_pixels(shape: tuple[int, int]) -> list[tuple[int, int]]:
    """The pixels a one-model receptive-field figure shows: the centre and
    :func:`wedge_pixel`."""
    height, width = shape
    return [(height // 2, width // 2), wedge_pixel(shape)]


def plot_receptive_field(model: Any, path: PathLike, pixels: Any = None,
                         shape: tuple[int, int] | None = None) -> str:
    """Which earlier pixels reach the logit of each of ``pixels`` (default
    :func:`default_pixels`), one panel per pixel."""
    shape = _image_shape(model, shape)
    pixels = default_pixels(shape) if pixels is None else [tuple(p) for p in pixels]
    panels = [(receptive_field(model, pixel, shape), f"pixel {pixel}") for pixel in pixels]
    return _save(_field_figure(panels, f"receptive field of {type(model).__name__}"), path)


def plot_receptive_fields(models: dict[str, Any], path: PathLike,
                          pixel: tuple[int, int] | None = None,
                          shape: tuple[int, int] | None = None) -> str:
    """Several models side by side, each the receptive field of the same ``pixel``
    (default :func:`wedge_pixel`, where a PixelCNN's blind spot shows)."""
    if not models:
        raise ValueError("models must name at least one model, got an empty dict")
    shapes = {name: _image_shape(model, shape) for name, model in models.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"models must share one image shape, got {shapes}")
    common = next(iter(shapes.values()))
    pixel = wedge_pixel(common) if pixel is None else tuple(pixel)
    panels = [(receptive_field(model, pixel, common), name) for name, model in models.items()]
    return _save(_field_figure(panels, f"receptive field of pixel {pixel} on "
                                       f"{common[0]}×{common[1]} images"), path)


# ----- everything that applies to one trained model -----------------------------------
def _sample(model: Any, n: int, rng: np.random.Generator, num_classes: int | None,
            fields: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
    if num_classes is None:
        given, labels = model.sampling_conditions(n, fields, rng)
        return np.asarray(model.sample(n, rng, **given)), labels
    labels = np.repeat(np.arange(num_classes), math.ceil(n / num_classes))
    return np.asarray(model.sample(len(labels), rng, y=labels)), labels


def _plot_samples(model: Any, path: Path, x_test: np.ndarray, rng: np.random.Generator,
                  num_classes: int | None, data_name: str, fields: dict[str, np.ndarray]
                  ) -> list[str]:
    """samples.png as an image grid or 2-D points; nothing for a model that cannot sample."""
    images = x_test.ndim == 4
    if not model.generative:  # e.g. a plain autoencoder: no distribution to sample
        return []
    samples, labels = _sample(model, 8 * (num_classes or 8) if images else 1000, rng,
                              num_classes, fields)
    if not images:
        return [plot_points_2d(samples, path, x_test, labels)]
    title = (f"{model.samples_are}, one row per class ({data_name})"
             if num_classes is not None else f"{model.samples_are} ({data_name})")
    # on the data's grey scale: Gaussian samples of [0, 1] data dip below 0
    return [plot_image_grid(on_data_scale(samples, data_name, x_test), path, 8, title)]


CHAIN_STEPS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200)  # frames shown: burn-in, then mixing


def _plot_chains(model: Any, path: Path, x_test: np.ndarray, rng: np.random.Generator
                 ) -> str:
    """chain.png: 4 chains from uniform noise (burn-in) above 4 from test images (mixing),
    frames at ``CHAIN_STEPS``."""
    starts = x_test[:4]
    binary = bool(np.isin(starts, (0, 1)).all())
    noise = rng.random(starts.shape) < 0.5 if binary else rng.random(starts.shape)
    frames = np.asarray(model.chain(np.concatenate([noise.astype(starts.dtype), starts]),
                                    CHAIN_STEPS[-1], rng))[list(CHAIN_STEPS)]
    groups = {"from uniform noise: does the chain reach digits?": frames[:, :len(starts)],
              "from test images: does it move on to other digits (mixing)?":
                  frames[:, len(starts):]}
    return plot_chain(groups, path, steps=CHAIN_STEPS,
                      title=f"{type(model).__name__} Markov chains, one row per chain")


def _plot_denoising(model: Any, path: Path, x_test: np.ndarray, rng: np.random.Generator
                    ) -> str:
    clean = x_test[:16]
    corrupted = np.asarray(model.corrupt(clean, rng))
    return plot_denoising(clean, corrupted, np.asarray(model.denoise(corrupted)), path)


def make_run_plots(
    model: Model,
    run_dir: PathLike,
    x_test: np.ndarray,
    y_test: np.ndarray | None,
    history: dict[str, Any],
    rng: np.random.Generator,
    data_name: str,
    fields: dict[str, np.ndarray] | None = None,
) -> list[str]:
    """Write every figure the model's capabilities allow into ``run_dir``; return the paths.

    ``fields``: the test split's batch fields when the data set has more than x and y
    (``minigen.data.get_fields``); models conditioned on them sample and draw from them.

    Each figure follows a capability the model declares (``minigen.models.base``):
    loss.png always; samples.png for a ``generative`` model (an image grid, or 2-D points
    over the data; a model conditioned on ``y``, one row per class); reconstructions.png
    for ``Reconstructs``; latent.png for an ``Encoder`` (over prior samples for a
    ``PriorSampler``); completions.png for ``Completes``; receptive_field.png (one-channel
    images) for ``Autoregressive``; chain.png for a ``ChainSampler``; denoising.png for a
    ``Denoiser``; codebook.png for ``DiscreteCodes`` (a VQ-VAE); the model's
    ``rows_figure`` for ``ShowsRows`` (translations, captions).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_loss(history, run_dir / "loss.png", unit=model.loss_unit)]
    x_test = np.asarray(x_test)
    images = x_test.ndim == 4
    points = x_test.ndim == 2 and x_test.shape[1] == 2
    labelled = "y" in model.conditions
    num_classes = None
    if labelled:
        num_classes = int(getattr(model, "num_classes", 0) or np.max(y_test) + 1)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            if images or points:
                fields = {"x": x_test, "y": y_test} if fields is None else fields
                written += _plot_samples(model, run_dir / "samples.png", x_test, rng,
                                         num_classes, data_name, fields)
            if images and isinstance(model, Reconstructs):
                originals = x_test[:16]
                labels = {"y": y_test[:16]} if labelled else {}
                written.append(plot_reconstructions(
                    originals, np.asarray(model.reconstruct(originals, rng, **labels)),
                    run_dir / "reconstructions.png"))
            if isinstance(model, Encoder):
                subset = slice(0, 1000)
                labels = {"y": y_test[subset]} if labelled else {}
                codes = np.asarray(model.encode(x_test[subset], **labels))
                prior = (np.asarray(model.sample_prior(len(codes), rng))
                         if isinstance(model, PriorSampler) else None)
                written.append(plot_latent_scatter(
                    codes, None if y_test is None else y_test[subset], run_dir / "latent.png",
                    prior=prior))
            if images and isinstance(model, Completes):
                given = x_test[:8]
                draws = np.stack([np.asarray(model.complete(given, rng)) for _ in range(3)])
                written.append(plot_completions(on_data_scale(given, data_name, x_test),
                                                on_data_scale(draws, data_name, x_test),
                                                run_dir / "completions.png"))
            if images and isinstance(model, ChainSampler):
                written.append(_plot_chains(model, run_dir / "chain.png", x_test, rng))
            if images and isinstance(model, Denoiser):
                written.append(_plot_denoising(model, run_dir / "denoising.png", x_test, rng))
            if isinstance(model, ShowsRows):
                title, rows = model.figure_rows(
                    {"x": x_test, "y": y_test} if fields is None else fields, rng)
                written.append(plot_labelled_rows(rows, run_dir / model.rows_figure, title,
                                                  reference=x_test))
            if isinstance(model, DiscreteCodes):
                code_maps = np.asarray(model.codes(x_test))
                where = "×".join(map(str, code_maps.shape[1:])) + " code maps of "
                written.append(plot_code_usage(
                    code_maps, model.num_embeddings, run_dir / "codebook.png",
                    title=f"code usage over the {where}{len(x_test)} test images "
                          f"({data_name})"))
        if images and x_test.shape[1] == 1 and isinstance(model, Autoregressive):
            # outside no_grad: the influence of each input pixel is read off autograd
            written.append(plot_receptive_field(model, run_dir / "receptive_field.png",
                                                shape=x_test.shape[2:]))
    finally:
        model.train(was_training)
    return written
