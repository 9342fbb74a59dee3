"""A multilayer perceptron as a Sequential: the stack most models' small networks are."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .activations import ReLU
from .layers import Linear
from .module import Module, Sequential


def mlp(
    widths: Sequence[int],
    rng: np.random.Generator,
    activation: Callable[[], Module] = ReLU,
    *,
    dtype: Any = np.float32,
) -> Sequential:
    """Linear(widths[i], widths[i+1]) for each consecutive pair, with a fresh
    ``activation()`` between them and none after the last: x : (..., widths[0]) ->
    (..., widths[-1]). ``activation`` is a layer class or factory, e.g.
    ``functools.partial(LeakyReLU, 0.2)``.
    """
    widths = [int(width) for width in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"mlp: widths must be at least two positive ints, got {widths}")
    layers: list[Module] = []
    for index, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(Linear(width_in, width_out, rng=rng, dtype=dtype))
        if index < len(widths) - 2:
            layers.append(activation())
    return Sequential(*layers)
