"""Denoising diffusion probabilistic model (Ho, Jain & Abbeel, 2020).

Data x_0 is destroyed by the fixed forward process q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I)
(``process.py``); a network ε_θ(x_t, t) learns the noise that was added, with the "simple"
objective of Ho et al. (eq. 14)

    L_simple = E_{t ~ U{1..T}, x_0, ε ~ N(0, I)} ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖²,

a reweighting of the variational bound's terms (each L_{t−1} is a weighted ε-MSE). Samples
run the reverse chain p_θ(x_{t−1} | x_t) = N(μ_θ, σ_t²) from x_T ~ N(0, I)
(``samplers.py``): ancestral DDPM by default, or DDIM with any number of steps and η on the
same network (``sample(n, rng, sampler="ddim", steps=20, eta=0)``).

Data: images in [−1, 1] ("digits-signed") through a small U-Net, or 2-D points through an
MLP (``denoisers.py``). ``loss`` is the mean over pixels, not nats; ``nll_bound`` gives
the variational bound L ≥ −log p_θ(x_0) in nats per example.

Deviations: β_t linear from 1e-4 to 0.02 scaled by 1000/T (so any T ends in noise); the
network is far smaller than Ho et al.'s 35.7 M parameters (8×8 digits, one CPU core);
sampling uses an exponential moving average of the weights (decay 0.995, shorter than
their 0.9999 because training here is ~3,000 steps, not 800,000).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.base import Model
from minigen.nn import ExponentialMovingAverage

from .denoisers import build_denoiser
from .process import VARIANCES, EpsFn, GaussianDiffusion
from .samplers import SAMPLERS, sample_with


class DDPM(Model):
    """DDPM(data_shape, *, rng, timesteps=1000, schedule="linear", width=16, ...).

    Parameters
    ----------
    data_shape : (C, H, W) images in [−1, 1] (U-Net) or (D,) points (MLP)
    rng : draws the initial weights
    timesteps : T
    schedule : "linear" or "cosine"
    width : U-Net base channels (a multiple of 8)
    hidden : the MLP's width for vector data
    attention : self-attention at the U-Net's low resolution (4×4 for 8×8 digits)
    ema_decay : decay of the weight average used for sampling and the bound
    variance : σ_t² = β̃_t ("small") or β_t ("large") for ancestral sampling
    sampler, steps, eta : ``sample``'s defaults ("ddpm" with every step here)
    """

    sample_options = ("sampler", "steps", "eta")

    loss_unit = "eps-MSE per dimension"
    default_sampler = "ddpm"

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 timesteps: int = 1000, schedule: str = "linear", width: int = 16,
                 hidden: int = 128, attention: bool = True, ema_decay: float = 0.995,
                 variance: str = "small",
                 sampler: str | None = None, steps: int | None = 250, eta: float = 0.0,
                 num_classes: int = 0) -> None:
        super().__init__()
        if variance not in VARIANCES:
            raise ValueError(f"{type(self).__name__}: variance must be one of {VARIANCES}, "
                             f"got {variance!r}")
        sampler = self.default_sampler if sampler is None else sampler
        if sampler not in SAMPLERS:
            raise ValueError(f"{type(self).__name__}: sampler must be one of {SAMPLERS}, "
                             f"got {sampler!r}")
        self.data_shape = tuple(int(d) for d in data_shape)
        self.process = GaussianDiffusion.from_schedule(schedule, timesteps)
        self.variance, self.sampler, self.steps, self.eta = variance, sampler, steps, eta
        self.num_classes = int(num_classes)
        self.width, self.hidden = int(width), int(hidden)
        self.network = build_denoiser(self.data_shape, rng, width=width, hidden=hidden,
                                      attention=attention, num_classes=self.num_classes)
        self.ema = ExponentialMovingAverage(self.network, ema_decay)

    # ----- training -----------------------------------------------------------------
    def noise_batch(self, x: Any, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """t ~ U{1..T}, ε ~ N(0, I), x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε: (x_t float32, t, ε)."""
        x0 = self.examples(x).data
        t = rng.integers(1, self.process.timesteps + 1, size=len(x0))
        noise = rng.standard_normal(x0.shape)
        x_t = self.process.q_sample(x0.astype(np.float64), t, noise)
        return x_t.astype(np.float32), t, noise.astype(np.float32)

    def loss(self, x: Any, rng: np.random.Generator, **conditions: Any) -> Tensor:
        """L_simple = mean ‖ε − ε_θ(x_t, t)‖² over the batch and dimensions."""
        x_t, t, noise = self.noise_batch(x, rng)
        error = self.network(x_t, t, **conditions) - noise
        return (error * error).mean()

    def after_step(self) -> None:
        self.ema.update()  # θ̄ ← decay · θ̄ + (1 − decay) · θ

    # ----- sampling -----------------------------------------------------------------
    def eps_fn(self, **conditions: Any) -> EpsFn:
        """ε_θ(x_t, t) as a NumPy function (float64 in and out) for the samplers."""
        def eps(x_t: np.ndarray, t: int) -> np.ndarray:
            with ag.no_grad():
                out = self.network(x_t.astype(np.float32), np.full(len(x_t), t), **conditions)
            return out.data.astype(np.float64)
        return eps

    def _draw(self, n: int, rng: np.random.Generator, eps_fn: EpsFn, sampler: str | None,
              steps: int | None, eta: float | None) -> np.ndarray:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{type(self).__name__}.sample: n must be an int >= 0, got {n!r}")
        x = sample_with(self.process, eps_fn, (int(n), *self.data_shape), rng,
                        sampler=self.sampler if sampler is None else sampler,
                        steps=self.steps if steps is None else steps,
                        eta=self.eta if eta is None else eta, variance=self.variance)
        return x.astype(np.float32)

    def sample(self, n: int, rng: np.random.Generator, *, sampler: str | None = None,
               steps: int | None = None, eta: float | None = None) -> np.ndarray:
        """n draws (n, *data_shape) with the averaged weights; ``sampler`` "ddpm" or
        "ddim", ``steps`` evenly spaced steps (default all T), DDIM's ``eta``."""
        with self.ema.swapped_in():
            return self._draw(n, rng, self.eps_fn(), sampler, steps, eta)

    # ----- the bound ----------------------------------------------------------------
    def nll_bound(self, x: Any, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """L(x_0) ≥ −log p_θ(x_0) in nats per example (N,), on the data's own scale (a
        density on [−1, 1]^D for digits), with the averaged weights; one x_t draw per t."""
        x0 = self.examples(x).data
        with self.ema.swapped_in():
            return self.process.variational_bound(self.eps_fn(**conditions), x0, rng)
