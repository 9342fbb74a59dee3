"""Real colour pixels: the (r, g, b) values of a photograph matplotlib ships.

``matplotlib.cbook.get_sample_data("grace_hopper.jpg")`` is a 600 × 512 colour photograph
of Grace Hopper that every matplotlib installation carries (its sample data, offline).
Its 307,200 pixels are the examples of the RGB pixel models: x : (N, 3) int64 levels
0 … 255. The split is fixed: ``np.random.default_rng(0).permutation`` of the pixels in
row-major order, the first 90 % (276,480) for training and the last 10 % (30,720) for
testing.
"""

from __future__ import annotations

import numpy as np

from minigen.checks import check_choice

PHOTO_NAME = "grace_hopper.jpg"
PHOTO_SHAPE = (600, 512, 3)
NUM_PIXELS = PHOTO_SHAPE[0] * PHOTO_SHAPE[1]
NUM_TRAIN_PIXELS = int(0.9 * NUM_PIXELS)
SPLIT_SEED = 0
SPLITS = ("train", "test", "all")


def load_photo() -> np.ndarray:
    """The photograph as (600, 512, 3) uint8 (read with matplotlib's image reader)."""
    from matplotlib import cbook
    from matplotlib import image as mpl_image

    with cbook.get_sample_data(PHOTO_NAME) as handle:
        photo = np.asarray(mpl_image.imread(handle, format="jpg"))
    if photo.shape != PHOTO_SHAPE or photo.dtype != np.uint8:
        raise ValueError(f"{PHOTO_NAME}: expected uint8 {PHOTO_SHAPE}, got {photo.dtype} "
                         f"{photo.shape}")
    return photo


def load_colour_pixels(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the photograph.

    Parameters
    ----------
    split : "train" (276,480 pixels), "test" (30,720) or "all" (307,200: train, then test)

    Returns
    -------
    x : (N, 3) int64 levels 0 … 255 (r, g, b)
    labels : (N,) int64 zeros
    """
    check_choice("split", split, SPLITS)
    pixels = load_photo().reshape(-1, 3).astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(NUM_PIXELS)
    rows = {"train": order[:NUM_TRAIN_PIXELS], "test": order[NUM_TRAIN_PIXELS:],
            "all": order}[split]
    return pixels[rows], np.zeros(len(rows), dtype=np.int64)
