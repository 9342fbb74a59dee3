"""Denoising diffusion implicit model (Song, Meng & Ermon, 2021): DDPM's network, DDIM's
sampler.

DDIM keeps DDPM's training objective (the same ε_θ, trained by L_simple; the marginals
q(x_t | x_0) are all the objective sees) and replaces the Markov reverse chain with a
family of non-Markovian ones indexed by η, run on any increasing subsequence
τ_1 < … < τ_S of 1 … T (Song et al., eq. 12):

    x_{τ_{i−1}} = √ᾱ_{τ_{i−1}} x̂_0 + √(1 − ᾱ_{τ_{i−1}} − σ²) ε_θ(x_{τ_i}, τ_i) + σ z,
    x̂_0 = (x_{τ_i} − √(1 − ᾱ_{τ_i}) ε_θ) / √ᾱ_{τ_i},
    σ = η √((1 − ᾱ_{τ_{i−1}}) / (1 − ᾱ_{τ_i})) √(1 − ᾱ_{τ_i} / ᾱ_{τ_{i−1}}).

η = 0 is deterministic (an ODE discretisation, so x_T is a code of x_0: ``invert``), and
20–50 steps come near 1,000 DDPM steps (their Table 1); η = 1 on every step is DDPM.
Defaults here: 50 evenly spaced steps, η = 0. Any DDPM run samples the same way with
``sample(n, rng, sampler="ddim", steps=20, eta=0)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .ddpm import DDPM
from .process import evenly_spaced
from .samplers import ddim_invert, ddim_sample


class DDIM(DDPM):
    """DDIM(data_shape, *, rng, steps=50, eta=0.0, **DDPM's hyper-parameters)."""

    default_sampler = "ddim"

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 steps: int | None = 50, eta: float = 0.0, **hparams: Any) -> None:
        super().__init__(data_shape, rng=rng, steps=steps, eta=eta, **hparams)

    def _timesteps(self, steps: int | None) -> np.ndarray:
        steps = self.steps if steps is None else steps
        total = self.process.timesteps
        return evenly_spaced(total if steps is None else steps, total)

    def invert(self, x: Any, steps: int | None = None) -> np.ndarray:
        """Deterministic DDIM inversion x_0 → x_T over ``steps`` steps: (N, *data_shape)."""
        x0 = self.examples(x).data
        with self.ema.swapped_in():
            return ddim_invert(self.process, self.eps_fn(), x0, self._timesteps(steps))

    def decode(self, x_T: Any, steps: int | None = None) -> np.ndarray:
        """η = 0 DDIM from given noise x_T: the inverse of :meth:`invert` up to the
        discretisation error. (N, *data_shape)."""
        x_T = self.examples(x_T).data.astype(np.float64)
        with self.ema.swapped_in():
            return ddim_sample(self.process, self.eps_fn(), x_T.shape, np.random.default_rng(0),
                               timesteps=self._timesteps(steps), eta=0.0, x_T=x_T)
