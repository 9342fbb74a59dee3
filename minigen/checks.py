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
