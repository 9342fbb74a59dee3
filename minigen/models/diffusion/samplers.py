"""Samplers over a :class:`GaussianDiffusion` and any noise predictor ε(x_t, t).

* DDPM ancestral sampling (Ho et al., 2020, Algorithm 2): x_{t−1} = μ_θ(x_t, t) + σ_t z,
  with **no noise at the last step** (z = 0 when t = 1), so the sample is the mean
  μ_θ(x_1, 1). With ``timesteps`` it runs the respaced process on that subsequence
  (Nichol & Dhariwal 2021 §4: β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}).
* DDIM (Song et al., 2021, eq. 12) over an increasing subsequence τ_1 < … < τ_S:

      x_{τ_{i−1}} = √ᾱ_prev x̂_0 + √(1 − ᾱ_prev − σ²) ε_θ + σ z,
      σ = η √((1 − ᾱ_prev)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_prev),

  where ᾱ_prev = ᾱ_{τ_{i−1}}, and ᾱ_prev = ᾱ_0 = 1 at the final step, so the last update
  returns x̂_0 with σ = 0. η = 1 over every step is DDPM with β̃_t; η = 0 is deterministic.
* DDIM inversion: the η = 0 update run forwards, x_0 → x_T, with ε evaluated at the
  current point and the *next* step, ε_θ(x_{τ_{i−1}}, τ_i) in place of ε_θ(x_{τ_i}, τ_i)
  (the one approximation; its error shrinks as the steps get finer).

Every sampler is plain NumPy in float64 on the ε the caller supplies; ``step`` functions
return the mean and variance so the tests compare them exactly.
"""

from __future__ import annotations

import numpy as np

from .process import EpsFn, GaussianDiffusion, check_timesteps, evenly_spaced

SAMPLERS = ("ddpm", "ddim")


def _start(shape: tuple[int, ...], rng: np.random.Generator,
           x_T: np.ndarray | None) -> np.ndarray:
    if x_T is None:
        return rng.standard_normal(shape)  # x_T ~ N(0, I)
    x_T = np.asarray(x_T, dtype=np.float64)
    if x_T.shape != tuple(shape):
        raise ValueError(f"x_T has shape {x_T.shape}, expected {tuple(shape)}")
    return x_T.copy()


def ddpm_step(process: GaussianDiffusion, eps: np.ndarray, x_t: np.ndarray, t: int,
              variance: str = "small") -> tuple[np.ndarray, float]:
    """Mean and variance of p(x_{t−1} | x_t) given ε = ε_θ(x_t, t); variance 0 at t = 1."""
    mean, var = process.p_mean_variance(x_t, t, eps, variance)
    return mean, (var if t > 1 else 0.0)


def ddpm_sample(
    process: GaussianDiffusion, eps_fn: EpsFn, shape: tuple[int, ...], rng: np.random.Generator,
    *, variance: str = "small", timesteps: np.ndarray | None = None,
    x_T: np.ndarray | None = None,
) -> np.ndarray:
    """Ancestral sampling x_T → x_0.

    eps_fn : ε_θ(x_t, t) on the original step numbers 1 … T
    shape : (n, *data_shape)
    variance : σ_t² = β̃_t ("small") or β_t ("large")
    timesteps : optional increasing subsequence of 1 … T to run on (respaced process)
    x_T : optional starting noise of ``shape``
    """
    if timesteps is not None:
        timesteps = check_timesteps(timesteps, process.timesteps)
        process = process.respaced(timesteps)
    x = _start(shape, rng, x_T)
    for index in range(process.timesteps, 0, -1):
        original = index if timesteps is None else int(timesteps[index - 1])
        mean, var = ddpm_step(process, eps_fn(x, original), x, index, variance)
        x = mean + np.sqrt(var) * rng.standard_normal(x.shape) if var > 0 else mean
    return x


def ddim_sigma(alpha_bar_t: float, alpha_bar_prev: float, eta: float) -> float:
    """σ(η) = η √((1 − ᾱ_prev)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_prev)  (Song et al. eq. 16)."""
    return eta * np.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t)) * np.sqrt(
        1 - alpha_bar_t / alpha_bar_prev)


def ddim_step(process: GaussianDiffusion, eps: np.ndarray, x_t: np.ndarray, t: int,
              t_prev: int, eta: float) -> tuple[np.ndarray, float]:
    """Mean and variance σ² of x_{t_prev} given x_t and ε = ε_θ(x_t, t); t_prev = 0 uses
    ᾱ_0 = 1 (so σ = 0 and the mean is x̂_0)."""
    alpha_bar_t, alpha_bar_prev = process.alpha_bar[t], process.alpha_bar[t_prev]
    sigma = ddim_sigma(alpha_bar_t, alpha_bar_prev, eta)
    x0_hat = process.predict_x0(x_t, t, eps)  # x̂_0 = (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t
    # x_prev = √ᾱ_prev x̂_0 + √(1 − ᾱ_prev − σ²) ε + σ z
    mean = np.sqrt(alpha_bar_prev) * x0_hat + np.sqrt(
        max(1 - alpha_bar_prev - sigma ** 2, 0.0)) * eps
    return mean, sigma ** 2


def ddim_sample(
    process: GaussianDiffusion, eps_fn: EpsFn, shape: tuple[int, ...], rng: np.random.Generator,
    *, timesteps: np.ndarray | None = None, eta: float = 0.0, x_T: np.ndarray | None = None,
) -> np.ndarray:
    """DDIM x_{τ_S} → x_0 over ``timesteps`` (default: every step 1 … T).

    eta : 0 deterministic, 1 = DDPM with β̃ on the subsequence
    """
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    timesteps = (np.arange(1, process.timesteps + 1) if timesteps is None
                 else check_timesteps(timesteps, process.timesteps))
    x = _start(shape, rng, x_T)
    previous = np.concatenate([[0], timesteps[:-1]])
    for t, t_prev in zip(timesteps[::-1], previous[::-1]):
        mean, var = ddim_step(process, eps_fn(x, int(t)), x, int(t), int(t_prev), eta)
        x = mean + np.sqrt(var) * rng.standard_normal(x.shape) if var > 0 else mean
    return x


def ddim_invert(process: GaussianDiffusion, eps_fn: EpsFn, x0: np.ndarray,
                timesteps: np.ndarray | None = None) -> np.ndarray:
    """Deterministic DDIM encoding x_0 → x_{τ_S}: for each τ_{i−1} → τ_i,
    x_{τ_i} = √ᾱ_{τ_i} x̂_0 + √(1 − ᾱ_{τ_i}) ε with ε = ε_θ(x_{τ_{i−1}}, τ_i)."""
    timesteps = (np.arange(1, process.timesteps + 1) if timesteps is None
                 else check_timesteps(timesteps, process.timesteps))
    x = np.asarray(x0, dtype=np.float64).copy()
    previous = np.concatenate([[0], timesteps[:-1]])
    for t_prev, t in zip(previous, timesteps):
        eps = eps_fn(x, int(t))
        alpha_bar_prev, alpha_bar_t = process.alpha_bar[t_prev], process.alpha_bar[t]
        x0_hat = (x - np.sqrt(1 - alpha_bar_prev) * eps) / np.sqrt(alpha_bar_prev)
        x = np.sqrt(alpha_bar_t) * x0_hat + np.sqrt(1 - alpha_bar_t) * eps
    return x


def sample_with(process: GaussianDiffusion, eps_fn: EpsFn, shape: tuple[int, ...],
                rng: np.random.Generator, *, sampler: str = "ddpm", steps: int | None = None,
                eta: float = 0.0, variance: str = "small") -> np.ndarray:
    """Dispatch by name for the models' ``sample``: "ddpm" (``steps`` respaces) or "ddim"
    over ``steps`` evenly spaced steps (default all)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    timesteps = None if steps is None else evenly_spaced(steps, process.timesteps)
    if sampler == "ddpm":
        return ddpm_sample(process, eps_fn, shape, rng, variance=variance, timesteps=timesteps)
    return ddim_sample(process, eps_fn, shape, rng, timesteps=timesteps, eta=eta)
