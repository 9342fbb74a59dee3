"""The embedded default data set: UCI optical-recognition handwritten digits.

1,797 grey-scale images of 8×8 pixels with 17 intensity levels (0..16), and their class
labels 0..9 (E. Alpaydin, C. Kaynak, 1998; UCI Machine Learning Repository, CC BY 4.0;
the copy distributed with scikit-learn). The file ``digits.csv.gz`` beside this module
holds one image per line: 64 comma-separated pixels in row-major order, then the label.

The split is fixed so that every model reports on the same examples:
``np.random.default_rng(0).permutation(1797)`` orders the rows, the first 1,497 indices
are the training set and the last 300 the test set.

Views of the grey levels ``g`` in 0..16, shared with the MNIST loader (where the top
level is 255 instead of 16):

=========  ======================  =========================================
view       value                   for
=========  ======================  =========================================
"grey"     g                       anything that wants the raw levels
"unit"     g / 16, in [0, 1]       Bernoulli-likelihood and [0, 1] models
"signed"   g / 8 − 1, in [−1, 1]   tanh-output GANs, diffusion
"binary"   g >= 8, in {0, 1}       binary models (NADE, MADE, RBM, ...)
=========  ======================  =========================================

``dequantize`` turns the discrete levels into a continuous density problem (RNADE,
flows): a density on [0, 1]^64 fitted to (g + u) / 17 lower-bounds the discrete
likelihood of g.
"""

from __future__ import annotations

import gzip
import io
from importlib import resources

import numpy as np

from minigen.checks import check_choice, check_rng

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
DIGITS_FILENAME = "digits.csv.gz"
NUM_DIGITS = 1797
NUM_TRAIN = 1497
NUM_TEST = NUM_DIGITS - NUM_TRAIN
SPLIT_SEED = 0
MAX_GREY = 16
SPLITS = ("train", "test", "all")
VIEWS = ("grey", "unit", "signed", "binary")

# Parsed once per process: (pixels (1797, 64) uint8, labels (1797,) int64).
_parsed_digits: tuple[np.ndarray, np.ndarray] | None = None


def grey_to_view(grey: np.ndarray, view: str, max_grey: int, dtype=np.float32) -> np.ndarray:
    """Map integer grey levels in 0..max_grey to one of the named views.

    Parameters
    ----------
    grey : (...) integer array with values in 0..max_grey
    view : "grey", "unit", "signed" or "binary" (see the module docstring)
    max_grey : the top grey level (16 for digits, 255 for MNIST)
    dtype : floating dtype of the result

    Returns
    -------
    (...) array of ``dtype``. "binary" thresholds at half intensity, grey >= max_grey / 2,
    so 8 of 16 and 128 of 255 count as on.
    """
    check_choice("view", view, VIEWS)
    levels = grey.astype(np.float64)
    if view == "grey":
        values = levels
    elif view == "unit":
        values = levels / max_grey
    elif view == "signed":
        values = 2.0 * levels / max_grey - 1.0
    else:
        values = levels >= max_grey / 2
    return values.astype(dtype)


def digits_file_bytes() -> bytes:
    """The shipped ``digits.csv.gz`` exactly as stored (its sha256 is ``DIGITS_SHA256``)."""
    return resources.files(__package__).joinpath(DIGITS_FILENAME).read_bytes()


def _parse_digits() -> tuple[np.ndarray, np.ndarray]:
    text = gzip.decompress(digits_file_bytes()).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.shape != (NUM_DIGITS, 65):
        raise ValueError(f"{DIGITS_FILENAME}: expected shape (1797, 65), got {table.shape}")
    return table[:, :64].astype(np.uint8), table[:, 64]


def _split_indices(split: str) -> np.ndarray:
    order = np.random.default_rng(SPLIT_SEED).permutation(NUM_DIGITS)
    if split == "train":
        return order[:NUM_TRAIN]
    if split == "test":
        return order[NUM_TRAIN:]
    return np.arange(NUM_DIGITS)


def load_digits(
    split: str = "train", view: str = "unit", dtype=np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Load the embedded 8×8 digits.

    Parameters
    ----------
    split : "train" (1,497 images), "test" (300) or "all" (1,797, in file order)
    view : "grey", "unit", "signed" or "binary" (see the module docstring)
    dtype : floating dtype of the images

    Returns
    -------
    images : (N, 1, 8, 8) array of ``dtype``
    labels : (N,) int64 class labels 0..9

    The arrays are fresh copies: changing them does not change later loads.
    """
    global _parsed_digits
    check_choice("split", split, SPLITS)
    check_choice("view", view, VIEWS)
    if _parsed_digits is None:
        _parsed_digits = _parse_digits()
    pixels, labels = _parsed_digits
    rows = _split_indices(split)
    images = grey_to_view(pixels[rows].reshape(-1, 1, 8, 8), view, MAX_GREY, dtype)
    return images, labels[rows].copy()


def dequantize(x_grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform dequantisation of digit grey levels into [0, 1].

    y = (x + u) / 17 with u ~ U[0, 1): level g fills the cell [g/17, (g+1)/17). A density
    p on [0, 1]^D gives x the probability mass of its cell, P(x), and by Jensen
    E_u[log p(y)] − D·log 17 <= log P(x): the dequantised log-likelihood, less D·log 17,
    lower-bounds the discrete one (D = 64 for a whole digit).

    Parameters
    ----------
    x_grey : (...) grey levels, integers 0..16 (any numeric dtype, e.g. the "grey" view)
    rng : source of the uniform noise

    Returns
    -------
    (...) array, float64 for integer input, otherwise the input's floating dtype.
    """
    check_rng("dequantize", rng)
    levels = np.asarray(x_grey)
    if levels.size and (
        np.any(levels != np.round(levels)) or levels.min() < 0 or levels.max() > MAX_GREY
    ):
        raise ValueError(
            f"x_grey must hold integer grey levels 0..{MAX_GREY}; "
            f"got values in [{levels.min()}, {levels.max()}]"
        )
    out_dtype = levels.dtype if np.issubdtype(levels.dtype, np.floating) else np.float64
    noise = rng.random(levels.shape)
    return ((levels + noise) / (MAX_GREY + 1)).astype(out_dtype)
