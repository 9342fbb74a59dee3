"""Data for minigen: embedded digits, 2-D toy sets, bars and stripes, MNIST, batching.

Pure NumPy; nothing here imports autograd or another minigen subpackage. Images are
float NCHW arrays, labels int64. ``get_dataset(name, split)`` is the one place that maps a
data-set name (as the model registry and the CLI spell it) to arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minigen.checks import check_choice

from .bars_and_stripes import (
    bars_and_stripes_log_prob,
    bars_and_stripes_patterns,
    num_bars_and_stripes,
    sample_bars_and_stripes,
)
from .captions import (
    CAPTION_LENGTH,
    HELD_OUT_TEMPLATES,
    TRAINING_TEMPLATES,
    caption_classes,
    caption_fields,
    decode_captions,
    encode_captions,
    make_captions,
)
from .colour_pixels import load_colour_pixels
from .digit_domains import (
    DOMAIN_NAMES,
    TRANSLATION_SETS,
    dilate,
    erode_rows,
    pixelate,
    rotate90,
    to_domain,
    translation_fields,
)
from .digits import DIGITS_SHA256, dequantize, load_digits
from .loader import DataLoader
from .mnist import load_mnist, read_idx, write_idx
from .names import (
    END_TOKEN,
    NAMES_SHA256,
    VOCAB_SIZE,
    decode_names,
    encode_names,
    load_names,
    name_lengths,
)
from .toy2d import (
    MODE_PROTOCOL_MIXTURES,
    ModeMixture,
    assign_to_centers,
    grid_centers,
    grid_of_gaussians,
    isotropic_mixture,
    mixture_of_gaussians_2d,
    ring_centers,
    ring_of_gaussians,
    swiss_roll,
    two_moons,
)

__all__ = [
    "DATASETS",
    "DIGITS_SHA256",
    "DataLoader",
    "MODE_PROTOCOL_MIXTURES",
    "ModeMixture",
    "assign_to_centers",
    "bars_and_stripes_log_prob",
    "bars_and_stripes_patterns",
    "dequantize",
    "get_dataset",
    "grid_centers",
    "grid_of_gaussians",
    "isotropic_mixture",
    "load_digits",
    "load_mnist",
    "mixture_of_gaussians_2d",
    "num_bars_and_stripes",
    "read_idx",
    "ring_centers",
    "ring_of_gaussians",
    "sample_bars_and_stripes",
    "swiss_roll",
    "two_moons",
    "write_idx",
    # image domains for translation (data/digit_domains.py)
    "DOMAIN_NAMES",
    "TRANSLATION_SETS",
    "dilate",
    "erode_rows",
    "get_fields",
    "IMAGE_RANGES",
    "image_range",
    "pixelate",
    "rotate90",
    "to_domain",
    "translation_fields",
    # text and colour pixels (the sequence family)
    "END_TOKEN",
    "NAMES_SHA256",
    "VOCAB_SIZE",
    "decode_names",
    "encode_names",
    "load_colour_pixels",
    "load_names",
    "name_lengths",
    # digit captions as word tokens (data/captions.py)
    "CAPTION_LENGTH",
    "HELD_OUT_TEMPLATES",
    "TRAINING_TEMPLATES",
    "caption_classes",
    "caption_fields",
    "decode_captions",
    "encode_captions",
    "make_captions",
]

SPLITS = ("train", "test", "all")
# Synthetic sets are one fixed draw, so every run trains and evaluates on the same points.
SYNTHETIC_SEED = 0
TOY2D_TRAIN, TOY2D_TEST = 4000, 1000
BARS_TRAIN, BARS_TEST = 2000, 500

Arrays = tuple[np.ndarray, np.ndarray]


def _take_split(points: np.ndarray, labels: np.ndarray, num_train: int, split: str) -> Arrays:
    if split == "train":
        return points[:num_train], labels[:num_train]
    if split == "test":
        return points[num_train:], labels[num_train:]
    return points, labels


def _toy2d_with_modes(centers: np.ndarray, split: str, std: float = 0.02) -> Arrays:
    rng = np.random.default_rng(SYNTHETIC_SEED)
    points, modes = isotropic_mixture(TOY2D_TRAIN + TOY2D_TEST, rng, centers, std=std)
    return _take_split(points, modes, TOY2D_TRAIN, split)


def _mode_protocol_set(name: str, split: str) -> Arrays:
    mixture = MODE_PROTOCOL_MIXTURES[name]
    return _toy2d_with_modes(mixture.centers, split, mixture.std)


def _toy2d_unlabelled(sampler: Callable, split: str) -> Arrays:
    points = sampler(TOY2D_TRAIN + TOY2D_TEST, np.random.default_rng(SYNTHETIC_SEED))
    return _take_split(points, np.zeros(len(points), dtype=np.int64), TOY2D_TRAIN, split)


def _bars_and_stripes(n: int, split: str) -> Arrays:
    rng = np.random.default_rng(SYNTHETIC_SEED)
    images = sample_bars_and_stripes(BARS_TRAIN + BARS_TEST, n, rng)
    return _take_split(images, np.zeros(len(images), dtype=np.int64), BARS_TRAIN, split)


def _dequantized_digits(split: str, rng: np.random.Generator | None) -> Arrays:
    grey, labels = load_digits(split, view="grey")
    rng = np.random.default_rng(SYNTHETIC_SEED) if rng is None else rng
    return dequantize(grey, rng), labels


_LOADERS: dict[str, Callable[[str, np.random.Generator | None], Arrays]] = {
    "digits": lambda split, rng: load_digits(split, view="unit"),
    "digits-binary": lambda split, rng: load_digits(split, view="binary"),
    "digits-grey": lambda split, rng: load_digits(split, view="grey"),
    "digits-signed": lambda split, rng: load_digits(split, view="signed"),
    "digits-dequantized": _dequantized_digits,
    "mnist": lambda split, rng: load_mnist(split, view="unit"),
    "mnist-binary": lambda split, rng: load_mnist(split, view="binary"),
    "ring": lambda split, rng: _toy2d_with_modes(ring_centers(), split),
    "grid": lambda split, rng: _toy2d_with_modes(grid_centers(), split),
    "ring-pacgan": lambda split, rng: _mode_protocol_set("ring-pacgan", split),
    "grid-pacgan": lambda split, rng: _mode_protocol_set("grid-pacgan", split),
    "moons": lambda split, rng: _toy2d_unlabelled(two_moons, split),
    "swissroll": lambda split, rng: _toy2d_unlabelled(swiss_roll, split),
    "bars-and-stripes-3": lambda split, rng: _bars_and_stripes(3, split),
    "bars-and-stripes-4": lambda split, rng: _bars_and_stripes(4, split),
    # names: tokens (N, 16) int64, id 0 the end token and the padding after it (data/names.py)
    "names": lambda split, rng: load_names(split),
    # one photograph's pixels: (N, 3) int64 levels 0..255 (data/colour_pixels.py)
    "colour-pixels": lambda split, rng: load_colour_pixels(split),
}
Fields = dict[str, np.ndarray]
# Data sets with more than (x, y): each gives a dict of aligned batch fields (the field
# names are documented in minigen.models.base), x and y always among them.
_FIELD_LOADERS: dict[str, Callable[[str, np.random.Generator | None], Fields]] = {
    # image-to-image domains in [-1, 1] (data/digit_domains.py)
    **{name: (lambda split, rng, name=name: translation_fields(name, split))
       for name in TRANSLATION_SETS},
    # signed digits with word-token captions, held-out phrasings in the test split
    # (data/captions.py)
    "digits-captions": lambda split, rng: caption_fields(split),
}
DATASETS = (*_LOADERS, *_FIELD_LOADERS)


# The value range of each image data set, (black, white): every figure maps pixels to grey
# by it, so samples that overshoot (a Gaussian decoder's dip below 0) are clipped, not
# rescaled into a washed-out picture.
_SIGNED, _UNIT = (-1.0, 1.0), (0.0, 1.0)
IMAGE_RANGES: dict[str, tuple[float, float]] = {
    "digits": _UNIT, "digits-binary": _UNIT, "digits-grey": (0.0, 16.0),
    "digits-signed": _SIGNED, "digits-dequantized": _UNIT, "mnist": _UNIT,
    "mnist-binary": _UNIT, "bars-and-stripes-3": _UNIT, "bars-and-stripes-4": _UNIT,
    **dict.fromkeys(TRANSLATION_SETS, _SIGNED), "digits-captions": _SIGNED,
}


def image_range(name: str) -> tuple[float, float] | None:
    """(black, white) pixel values of image data set ``name``; None for points or tokens."""
    return IMAGE_RANGES.get(name)


def get_dataset(name: str, split: str, rng: np.random.Generator | None = None) -> Arrays:
    """Load a data set by name.

    Parameters
    ----------
    name : one of ``DATASETS``:
        "digits", "digits-binary", "digits-grey", "digits-signed": 8×8 digits in that
        view (see ``load_digits``; "digits" is the "unit" view);
        "digits-dequantized": grey levels dequantised into [0, 1] with ``rng``
        (np.random.default_rng(0) when rng is None);
        "mnist", "mnist-binary": ``load_mnist`` (never downloads; call
        ``load_mnist(download=True)`` once first);
        "ring", "grid", "moons", "swissroll": a fixed draw (seed 0) of the 2-D set with
        default parameters (ring: radius 2, grid: {−4,…,4}², σ = 0.02), 4,000 train then
        1,000 test points;
        "ring-pacgan", "grid-pacgan": the same for the mode-collapse protocol's mixtures
        (``MODE_PROTOCOL_MIXTURES``: ring of 8, radius 1, σ = 0.01; 5×5 grid, σ = 0.05);
        "bars-and-stripes-3", "bars-and-stripes-4": a fixed sample (seed 0) of 2,000
        train then 500 test images;
        "names": 32,033 given names as tokens (N, 16) int64 (``load_names``), 90/10 split;
        "colour-pixels": the (r, g, b) levels of matplotlib's Grace Hopper photograph,
        (N, 3) int64 (``load_colour_pixels``), 90/10 split;
        "digits-pix2pix", "digits-thin-bold", "digits-domains": translation domains of the
        signed digits (``minigen.data.digit_domains``); here only their x and y, the rest
        through ``get_fields``;
        "digits-captions": the signed digits with captions (``minigen.data.captions``);
        here x and y, the captions (field ``text``) through ``get_fields``.
    split : "train", "test" or "all" (train followed by test)
    rng : used only by "digits-dequantized"; every other set is fixed

    Returns
    -------
    x : images (N, 1, H, W) float32, or points (N, 2) float64 for the 2-D sets, or int64
        tokens / colour levels for "names" / "colour-pixels"
    labels : (N,) int64: the class, the mixture component for the ring and grid sets,
        zeros where there is none
    """
    check_choice("name", name, DATASETS)
    check_choice("split", split, SPLITS)
    if name in _FIELD_LOADERS:
        fields = _FIELD_LOADERS[name](split, rng)
        return fields["x"], fields["y"]
    return _LOADERS[name](split, rng)


def get_fields(name: str, split: str, rng: np.random.Generator | None = None) -> Fields:
    """A data set's split as batch fields, ``{"x": ..., "y": ..., ...}``.

    Plain data sets give ``{"x", "y"}`` (``get_dataset``); the translation sets add their
    paired or unpaired fields (``source``, ``x_b``, ``y_b``, ``domain``: see
    ``minigen.data.digit_domains``); "digits-captions" adds ``text`` (caption tokens).
    Every array holds the same N rows.
    """
    check_choice("name", name, DATASETS)
    check_choice("split", split, SPLITS)
    if name in _FIELD_LOADERS:
        return dict(_FIELD_LOADERS[name](split, rng))
    x, y = _LOADERS[name](split, rng)
    return {"x": x, "y": y}
