"""Classifier-free guidance (Ho & Salimans, 2021).

One network learns both ε_θ(x_t, t, y) and ε_θ(x_t, t, ∅): during training each label is
replaced by the null token ∅ with probability p_uncond (0.1–0.2), with the DDPM objective

    L = E ‖ε − ε_θ(x_t, t, ỹ)‖²,   ỹ = ∅ with probability p_uncond, else y.

Sampling extrapolates from the unconditional prediction towards the conditional one. Two
conventions are published for the same estimate:

    ε̂ = (1 + w) ε_θ(x_t, y) − w ε_θ(x_t, ∅)          (Ho & Salimans, eq. 6; w = 0: conditional)
    ε̂ = ε_θ(x_t, ∅) + s (ε_θ(x_t, y) − ε_θ(x_t, ∅))  (GLIDE, Nichol et al. 2022; s = 1: cond.)

They agree at s = 1 + w; s = 0 (w = −1) is the unconditional model. Larger w trades
diversity within a class for how recognisably it is that class. ``guidance`` here is w.
Each sampling step evaluates both predictions in one batch of 2n.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .ddpm import DDPM
from .process import EpsFn


def guided_eps_w(eps_conditional: np.ndarray, eps_unconditional: np.ndarray,
                 w: float) -> np.ndarray:
    """ε̂ = (1 + w) ε_c − w ε_u (Ho & Salimans)."""
    return (1 + w) * eps_conditional - w * eps_unconditional


def guided_eps_s(eps_conditional: np.ndarray, eps_unconditional: np.ndarray,
                 s: float) -> np.ndarray:
    """ε̂ = ε_u + s (ε_c − ε_u) (GLIDE); equal to :func:`guided_eps_w` at s = 1 + w."""
    return eps_unconditional + s * (eps_conditional - eps_unconditional)


def labels_for(n: int, y: Any, num_classes: int) -> np.ndarray:
    """y as (n,) int labels: an int repeated, an array checked, or None → 0, 1, …, K−1, 0, …"""
    if y is None:
        return np.arange(n) % num_classes
    labels = np.broadcast_to(np.asarray(y, dtype=np.int64), (n,)).copy()
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"y must lie in [0, {num_classes - 1}], got [{labels.min()}, "
                         f"{labels.max()}]")
    return labels


class ClassifierFreeGuidance(DDPM):
    """ClassifierFreeGuidance(data_shape, *, rng, num_classes=10, p_uncond=0.15,
    guidance=1.0, **DDPM's hyper-parameters); ``conditions = ("y",)``."""

    sample_options = ("sampler", "steps", "eta", "guidance")

    conditions = ("y",)

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 num_classes: int = 10, p_uncond: float = 0.15, guidance: float = 1.0,
                 **hparams: Any) -> None:
        if num_classes < 1:
            raise ValueError(f"ClassifierFreeGuidance: num_classes must be >= 1, got "
                             f"{num_classes}")
        if not 0.0 < p_uncond < 1.0:
            raise ValueError(f"ClassifierFreeGuidance: p_uncond must be in (0, 1), got "
                             f"{p_uncond}")
        super().__init__(data_shape, rng=rng, num_classes=num_classes, **hparams)
        self.p_uncond, self.guidance = float(p_uncond), float(guidance)

    def loss(self, x: Any, rng: np.random.Generator, *, y: Any) -> Tensor:
        """mean ‖ε − ε_θ(x_t, t, ỹ)‖², ỹ = ∅ (index num_classes) with prob. p_uncond."""
        x_t, t, noise = self.noise_batch(x, rng)
        labels = labels_for(len(x_t), y, self.num_classes)
        dropped = rng.random(len(labels)) < self.p_uncond
        labels = np.where(dropped, self.num_classes, labels)  # ỹ
        error = self.network(x_t, t, labels) - noise
        return (error * error).mean()

    def guided_eps_fn(self, y: np.ndarray, w: float) -> EpsFn:
        """ε̂(x_t, t) = (1 + w) ε_θ(x_t, t, y) − w ε_θ(x_t, t, ∅), both in one batch."""
        null = np.full(len(y), self.num_classes)

        def eps(x_t: np.ndarray, t: int) -> np.ndarray:
            both = np.concatenate([x_t, x_t]).astype(np.float32)
            with ag.no_grad():
                out = self.network(both, np.full(len(both), t),
                                   np.concatenate([y, null])).data.astype(np.float64)
            return guided_eps_w(out[:len(y)], out[len(y):], w)
        return eps

    def sample(self, n: int, rng: np.random.Generator, *, y: Any = None,
               guidance: float | None = None, sampler: str | None = None,
               steps: int | None = None, eta: float | None = None) -> np.ndarray:
        """n draws of class ``y`` (an int or (n,) labels; default 0, 1, 2, … cycling) at
        guidance weight w = ``guidance`` (default the model's): (n, *data_shape)."""
        labels = labels_for(n, y, self.num_classes)
        w = self.guidance if guidance is None else float(guidance)
        with self.ema.swapped_in():
            return self._draw(n, rng, self.guided_eps_fn(labels, w), sampler, steps, eta)

    def nll_bound(self, x: Any, rng: np.random.Generator, *, y: Any = None) -> np.ndarray:
        """The bound of the conditional model p(x | y) (unconditional with y=None)."""
        labels = None if y is None else labels_for(len(x), y, self.num_classes)
        return super().nll_bound(x, rng, y=labels)
