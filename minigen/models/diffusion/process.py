"""The Gaussian diffusion process, apart from any network (Ho et al., 2020; Sohl-Dickstein
et al., 2015).

Forward: q(x_t | x_{t−1}) = N(√(1 − β_t) x_{t−1}, β_t I), t = 1 … T, which composes to the
closed form

    q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),   α_t = 1 − β_t,  ᾱ_t = Π_{s≤t} α_s.

Posterior (Bayes' rule between the two Gaussians above, Ho et al. eq. 6–7):

    q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I),
    μ̃_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t,
    β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t.

Reverse: p_θ(x_{t−1} | x_t) = N(μ_θ, σ_t² I) with ε-prediction,
μ_θ = (x_t − β_t / √(1 − ᾱ_t) · ε_θ(x_t, t)) / √α_t, which is μ̃_t at x̂_0 =
(x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t; σ_t² is β̃_t ("small") or β_t ("large").

Indexing: arrays have T + 1 entries and index t is the paper's t, so entry 0 is "no noise
yet": ᾱ_0 = 1, β_0 = 0. Hence β̃_1 = 0 (x_0 is known given x_1 and x_0), which is the
0-based codes' "posterior variance at t = 0"; its logarithm is clipped to log β̃_2 there.

The variational bound (Ho et al. eq. 5), in nats:

    L = KL(q(x_T|x_0) ‖ N(0, I)) + Σ_{t=2}^T KL(q(x_{t−1}|x_t, x_0) ‖ p_θ(x_{t−1}|x_t))
        − log p_θ(x_0 | x_1)  ≥ −log p_θ(x_0),

with the decoder p_θ(x_0|x_1) = N(μ_θ(x_1, 1), β_1 I), a density (data treated as
continuous, as the dequantised-digit densities are); deviation from Ho et al.'s
discretised 256-bin decoder, so the figure sits in the RNADE/PPCA units.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EpsFn = Callable[[np.ndarray, int], np.ndarray]
"""ε_θ(x_t, t): noise prediction for a batch x_t : (N, ...) at one integer step t."""

SCHEDULES = ("linear", "cosine")
VARIANCES = ("small", "large")


def linear_betas(timesteps: int, start: float = 1e-4, end: float = 0.02) -> np.ndarray:
    """β_1 … β_T linearly from ``start`` to ``end`` scaled by 1000 / T (Ho et al. use T =
    1000; the scale keeps ᾱ_T ≈ 4e-5 for any T, Nichol & Dhariwal 2021). (T,) float64."""
    _check_timesteps(timesteps)
    scale = 1000.0 / timesteps
    return np.linspace(start * scale, end * scale, timesteps, dtype=np.float64)


def cosine_betas(timesteps: int, offset: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """ᾱ(t) = f(t) / f(0), f(t) = cos²((t/T + s) / (1 + s) · π/2) (Nichol & Dhariwal 2021,
    eq. 17); β_t = 1 − ᾱ_t / ᾱ_{t−1} clipped at ``max_beta``. (T,) float64."""
    _check_timesteps(timesteps)
    steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    f = np.cos((steps + offset) / (1 + offset) * np.pi / 2) ** 2
    return np.minimum(1 - f[1:] / f[:-1], max_beta)


def _check_timesteps(timesteps: int) -> None:
    if not isinstance(timesteps, (int, np.integer)) or timesteps < 1:
        raise ValueError(f"timesteps must be a positive int, got {timesteps!r}")


def _gaussian_kl(mean_q: np.ndarray, var_q: np.ndarray, mean_p: np.ndarray,
                 var_p: np.ndarray) -> np.ndarray:
    """KL(N(mean_q, var_q) ‖ N(mean_p, var_p)) per element (var_q > 0)."""
    return 0.5 * (np.log(var_p / var_q) + (var_q + (mean_q - mean_p) ** 2) / var_p - 1)


class GaussianDiffusion:
    """The schedule and every formula of the process; no parameters, no network.

    Parameters
    ----------
    betas : β_1 … β_T, (T,) in (0, 1)
    """

    def __init__(self, betas: np.ndarray) -> None:
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or len(betas) < 1 or not np.all((betas > 0) & (betas < 1)):
            raise ValueError(f"GaussianDiffusion: betas must be a (T,) array in (0, 1), got "
                             f"shape {betas.shape}, range [{betas.min()}, {betas.max()}]")
        self.timesteps = len(betas)
        self.betas = np.concatenate([[0.0], betas])  # index t = the paper's t; β_0 = 0
        self.alphas = 1 - self.betas  # α_t = 1 − β_t
        self.alpha_bar = np.cumprod(self.alphas)  # ᾱ_t = Π_{s≤t} α_s, ᾱ_0 = 1
        alpha_bar_prev = np.concatenate([[1.0], self.alpha_bar[:-1]])
        # β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t; β̃_0 is undefined: set to 0
        self.posterior_variance = np.zeros(self.timesteps + 1)
        self.posterior_variance[1:] = ((1 - alpha_bar_prev[1:]) / (1 - self.alpha_bar[1:])
                                       * self.betas[1:])
        # log β̃_t with β̃_1 = 0 replaced by β̃_2 (β_1 when T = 1), so it stays finite
        clip_to = self.posterior_variance[2] if self.timesteps > 1 else self.betas[1]
        self.posterior_log_variance_clipped = np.log(
            np.maximum(self.posterior_variance, np.where(np.arange(self.timesteps + 1) <= 1,
                                                         clip_to, 0.0)))
        # μ̃_t = coef_x0 · x_0 + coef_xt · x_t
        self.posterior_coef_x0 = np.sqrt(alpha_bar_prev) * self.betas / np.maximum(
            1 - self.alpha_bar, 1e-300)
        self.posterior_coef_xt = (np.sqrt(self.alphas) * (1 - alpha_bar_prev)
                                  / np.maximum(1 - self.alpha_bar, 1e-300))

    @classmethod
    def from_schedule(cls, schedule: str, timesteps: int) -> GaussianDiffusion:
        """A process with the named schedule, "linear" or "cosine"."""
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        return cls(linear_betas(timesteps) if schedule == "linear" else cosine_betas(timesteps))

    def _step(self, t: int) -> int:
        if not isinstance(t, (int, np.integer)) or not 1 <= t <= self.timesteps:
            raise ValueError(f"t must be an int in [1, {self.timesteps}], got {t!r}")
        return int(t)

    # ----- forward -------------------------------------------------------------------
    def q_step(self, x_prev: np.ndarray, t: int, noise: np.ndarray) -> np.ndarray:
        """One forward step x_t = √(1 − β_t) x_{t−1} + √β_t ε."""
        t = self._step(t)
        return np.sqrt(1 - self.betas[t]) * x_prev + np.sqrt(self.betas[t]) * noise

    def q_mean_variance(self, x0: np.ndarray, t: int) -> tuple[np.ndarray, float]:
        """q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I): (mean like x0, variance)."""
        t = self._step(t)
        return np.sqrt(self.alpha_bar[t]) * x0, 1 - self.alpha_bar[t]

    def q_sample(self, x0: np.ndarray, t: np.ndarray | int, noise: np.ndarray) -> np.ndarray:
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε; t an int or (N,) ints, one per example of x0."""
        alpha_bar = self._per_example(self.alpha_bar, t, x0)
        return np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * noise

    def _per_example(self, table: np.ndarray, t: np.ndarray | int, x: np.ndarray) -> np.ndarray:
        t = np.asarray(t)
        if t.ndim == 0:
            return table[int(t)]
        if t.shape != (len(x),):
            raise ValueError(f"t has shape {t.shape}, expected () or ({len(x)},) for x of "
                             f"shape {x.shape}")
        return table[t].reshape((len(x),) + (1,) * (x.ndim - 1))

    # ----- posterior and reverse -----------------------------------------------------
    def posterior_mean_variance(
        self, x0: np.ndarray, x_t: np.ndarray, t: int
    ) -> tuple[np.ndarray, float, float]:
        """q(x_{t−1} | x_t, x_0): (μ̃_t, β̃_t, clipped log β̃_t)."""
        t = self._step(t)
        mean = self.posterior_coef_x0[t] * x0 + self.posterior_coef_xt[t] * x_t
        return mean, self.posterior_variance[t], self.posterior_log_variance_clipped[t]

    def predict_x0(self, x_t: np.ndarray, t: int, eps: np.ndarray) -> np.ndarray:
        """x̂_0 = (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t."""
        t = self._step(t)
        return (x_t - np.sqrt(1 - self.alpha_bar[t]) * eps) / np.sqrt(self.alpha_bar[t])

    def reverse_variance(self, t: int, variance: str = "small") -> float:
        """σ_t²: β̃_t ("small", the lower bound of Ho et al.) or β_t ("large")."""
        t = self._step(t)
        if variance not in VARIANCES:
            raise ValueError(f"variance must be one of {VARIANCES}, got {variance!r}")
        return self.posterior_variance[t] if variance == "small" else self.betas[t]

    def p_mean_variance(
        self, x_t: np.ndarray, t: int, eps: np.ndarray, variance: str = "small"
    ) -> tuple[np.ndarray, float]:
        """p_θ(x_{t−1} | x_t) = N(μ_θ, σ_t²) from a noise prediction ε: (μ_θ, σ_t²).

        μ_θ = (x_t − β_t / √(1 − ᾱ_t) · ε) / √α_t  (= μ̃_t at x̂_0; Ho et al. eq. 11).
        """
        t = self._step(t)
        mean = (x_t - self.betas[t] / np.sqrt(1 - self.alpha_bar[t]) * eps) / np.sqrt(
            self.alphas[t])
        return mean, self.reverse_variance(t, variance)

    # ----- respacing ------------------------------------------------------------------
    def respaced(self, timesteps: np.ndarray) -> GaussianDiffusion:
        """The process on an increasing subsequence τ_1 < … < τ_S of 1 … T: same ᾱ at the
        kept steps, β'_i = 1 − ᾱ_{τ_i} / ᾱ_{τ_{i−1}} (Nichol & Dhariwal 2021, §4)."""
        timesteps = check_timesteps(timesteps, self.timesteps)
        kept = self.alpha_bar[timesteps]
        previous = np.concatenate([[1.0], kept[:-1]])
        return GaussianDiffusion(1 - kept / previous)

    # ----- the bound ----------------------------------------------------------------
    def prior_kl(self, x0: np.ndarray) -> np.ndarray:
        """L_T = KL(q(x_T | x_0) ‖ N(0, I)) summed over each example's dimensions, (N,)."""
        mean, variance = self.q_mean_variance(x0, self.timesteps)
        return _sum_examples(_gaussian_kl(mean, np.full_like(mean, variance), 0.0, 1.0))

    def default_bound_variances(self) -> np.ndarray:
        """σ_t² used by the bound: β̃_t for t ≥ 2 ("small") and the decoder's β_1 at t = 1;
        (T + 1,), entry 0 unused."""
        variances = self.posterior_variance.copy()
        variances[1] = self.betas[1]
        return variances

    def bound_terms(self, eps_fn: EpsFn, x0: np.ndarray, rng: np.random.Generator,
                    variances: np.ndarray | None = None) -> np.ndarray:
        """The terms of L per example, (N, T + 1) nats: column 0 is L_T, column t ≥ 2 is
        L_{t−1} = KL(q(x_{t−1}|x_t,x_0) ‖ N(μ_θ(x_t, t), σ_t²)), column 1 is
        L_0 = −log N(x_0; μ_θ(x_1, 1), σ_1²). One draw x_t ~ q(x_t | x_0) per t, so the sum
        is an unbiased estimate of L.

        variances : σ_t², (T + 1,); default :meth:`default_bound_variances`
        """
        x0 = np.asarray(x0, dtype=np.float64)
        variances = self.default_bound_variances() if variances is None else np.asarray(
            variances, dtype=np.float64)
        if variances.shape != (self.timesteps + 1,) or np.any(variances[1:] <= 0):
            raise ValueError(f"variances must be ({self.timesteps + 1},) and positive from "
                             f"index 1, got shape {variances.shape}")
        terms = np.zeros((len(x0), self.timesteps + 1))
        terms[:, 0] = self.prior_kl(x0)
        for t in range(1, self.timesteps + 1):
            x_t = self.q_sample(x0, t, rng.standard_normal(x0.shape))
            mean_p, _ = self.p_mean_variance(x_t, t, np.asarray(eps_fn(x_t, t), np.float64))
            if t == 1:  # −log N(x_0; μ_θ(x_1, 1), σ_1²)
                terms[:, 1] = _sum_examples(0.5 * (np.log(2 * np.pi * variances[1])
                                                   + (x0 - mean_p) ** 2 / variances[1]))
            else:
                mean_q, posterior_var, _ = self.posterior_mean_variance(x0, x_t, t)
                terms[:, t] = _sum_examples(_gaussian_kl(
                    mean_q, np.full_like(mean_q, posterior_var), mean_p, variances[t]))
        return terms

    def variational_bound(self, eps_fn: EpsFn, x0: np.ndarray, rng: np.random.Generator,
                          variances: np.ndarray | None = None) -> np.ndarray:
        """L(x_0) ≥ −log p_θ(x_0) in nats per example, (N,) (one-draw estimate)."""
        return self.bound_terms(eps_fn, x0, rng, variances).sum(axis=1)

    def gaussian_reverse_variances(self, data_variance: float) -> np.ndarray:
        """The exact Var(x_{t−1} | x_t) for data x_0 ~ N(m, v I): β̃_t + c_t² Var(x_0 | x_t),
        c_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t), Var(x_0 | x_t) = v (1 − ᾱ_t) / (ᾱ_t v + 1 − ᾱ_t).
        With these and the exact ε*, p_θ(x_{t−1}|x_t) = q(x_{t−1}|x_t), and the bound is
        −log p(x_0) up to KL(q(x_T) ‖ N(0, I)). (T + 1,), entry 0 unused."""
        alpha_bar = self.alpha_bar
        x0_variance = data_variance * (1 - alpha_bar) / np.maximum(
            alpha_bar * data_variance + 1 - alpha_bar, 1e-300)
        return self.posterior_variance + self.posterior_coef_x0 ** 2 * x0_variance


def _sum_examples(values: np.ndarray) -> np.ndarray:
    return values.reshape(len(values), -1).sum(axis=1)


def check_timesteps(timesteps: np.ndarray, total: int) -> np.ndarray:
    """An increasing int subsequence of 1 … ``total`` as an array, or a clear ValueError."""
    timesteps = np.asarray(timesteps)
    if (timesteps.ndim != 1 or len(timesteps) < 1 or not np.issubdtype(timesteps.dtype, np.integer)
            or timesteps[0] < 1 or timesteps[-1] > total or np.any(np.diff(timesteps) <= 0)):
        raise ValueError(f"timesteps must be a strictly increasing int sequence within "
                         f"[1, {total}], got {timesteps!r}")
    return timesteps.astype(np.int64)


def evenly_spaced(steps: int, total: int) -> np.ndarray:
    """``steps`` increasing steps from 1 … ``total`` ending at ``total`` (DDIM's uniform τ)."""
    if not isinstance(steps, (int, np.integer)) or not 1 <= steps <= total:
        raise ValueError(f"steps must be an int in [1, {total}], got {steps!r}")
    return np.unique(np.round(np.linspace(total, 0, steps, endpoint=False)[::-1]).astype(
        np.int64))


def mixture_optimal_eps(
    x_t: np.ndarray, alpha_bar: float, weights: np.ndarray, means: np.ndarray,
    variances: np.ndarray,
) -> np.ndarray:
    """The exact ε*(x_t, t) = E[ε | x_t] = −√(1 − ᾱ_t) ∇ log q(x_t) for data
    x_0 ~ Σ_k π_k N(m_k, v_k I), whose marginal is q(x_t) = Σ_k π_k N(√ᾱ_t m_k,
    (ᾱ_t v_k + 1 − ᾱ_t) I) (Tweedie's formula).

    x_t : (N, D); weights : (K,); means : (K, D); variances : (K,) -> (N, D)
    """
    x_t = np.asarray(x_t, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    marginal_var = alpha_bar * np.asarray(variances, dtype=np.float64) + 1 - alpha_bar  # (K,)
    diff = x_t[:, None, :] - np.sqrt(alpha_bar) * means[None]  # (N, K, D)
    dims = x_t.shape[1]
    log_joint = (np.log(weights)[None] - 0.5 * (diff ** 2).sum(-1) / marginal_var
                 - 0.5 * dims * np.log(2 * np.pi * marginal_var))  # log π_k N(x_t; …)
    responsibilities = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
    responsibilities /= responsibilities.sum(axis=1, keepdims=True)
    score = -(responsibilities[..., None] * diff / marginal_var[None, :, None]).sum(axis=1)
    return -np.sqrt(1 - alpha_bar) * score
