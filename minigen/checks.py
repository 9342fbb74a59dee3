"""The argument checks every layer shares, so each mistake reads the same everywhere.

Pure Python and NumPy (the lowest layer: anything in minigen may use it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def check_choice(argument: str, value: object, choices: Sequence[str]) -> None:
    """Raise a ValueError naming ``argument``, its ``value`` and the valid ``choices``."""
    if value not in choices:
        raise ValueError(f"{argument} must be one of {tuple(choices)}; got {value!r}")


def check_rng(owner: str, rng: Any, why: str = "") -> np.random.Generator:
    """``rng`` itself if it is a numpy Generator, else a TypeError naming ``owner``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{owner}: rng must be a numpy.random.Generator "
                        f"(np.random.default_rng(seed)){why}, got {type(rng).__name__}")
    return rng


def check_labels(owner: str, y: Any, n: int, num_classes: int) -> np.ndarray:
    """``y`` as (n,) int64 class labels in [0, num_classes), else a ValueError naming ``owner``,
    the shape and range expected and what was given."""
    if y is None:
        raise ValueError(f"{owner}: pass the labels, y= an array of {n} integers in "
                         f"[0, {num_classes})")
    labels = np.asarray(y)
    if labels.shape != (n,) or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"{owner}: y must be {n} integer labels (shape ({n},)), got shape "
                         f"{labels.shape} and dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{owner}: y must be class labels, and labels must lie in "
                         f"[0, {num_classes}); got values from {labels.min()} to {labels.max()}")
    return labels.astype(np.int64)


def check_count(owner: str, n: Any, argument: str = "n") -> int:
    """``n`` as an int if it is a positive whole number (not a bool), else a TypeError or
    ValueError naming ``owner`` and what was given."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{owner}: {argument} must be a positive int, got {n!r} "
                        f"({type(n).__name__})")
    if n < 1:
        raise ValueError(f"{owner}: {argument} must be a positive int, got {n}")
    return int(n)
