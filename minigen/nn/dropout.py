"""Dropout: randomly zero activations while training (Srivastava et al., 2014).

Inverted dropout: each entry is kept with probability 1 − p and the kept entries are scaled
by 1 / (1 − p), so E[dropout(x)] = x and evaluation needs no rescaling. Drawing the mask
needs randomness, so the training-mode call takes an explicit ``rng``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_rng

from .module import Module


def _check_p(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
    return float(p)


def dropout(x: Any, p: float, rng: np.random.Generator | None, training: bool = True) -> Tensor:
    """Zero each entry of ``x`` with probability ``p`` and scale the rest by 1 / (1 − p).

    Identity when ``training`` is False or ``p`` is 0; ``rng`` is then not used.
    """
    x = ag.as_tensor(x)
    p = _check_p(p)
    if not training or p == 0.0:
        return x
    check_rng("dropout", rng, "; dropout in training mode needs rng to draw its mask (or "
              "call module.eval() for deterministic evaluation)")
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = rng.random(x.shape) >= p
    return x * (keep / (1.0 - p)).astype(x.dtype)  # mask · x / (1 − p)


class Dropout(Module):
    """Inverted dropout with drop probability ``p``; identity in eval mode.

    ``forward(x, rng)`` : x of any shape -> same shape. In training mode ``rng`` is required.
    """

    draws = True

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_p(p)

    def forward(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        return dropout(x, self.p, rng, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
