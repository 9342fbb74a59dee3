"""A linear-Gaussian latent-variable model: the one VAE whose every term has a closed form.

    p(z) = N(0, I_d),    p(x | z) = N(W z + b, σ² I_D),    W : (D, d)

Marginalising z gives the evidence and Bayes' rule the posterior, both Gaussian
(probabilistic PCA; Tipping & Bishop, 1999):

    p(x)     = N(x; b, W Wᵀ + σ² I)
    p(z | x) = N(m, S),  S = (I + Wᵀ W / σ²)⁻¹,  m = S Wᵀ (x − b) / σ²

For any diagonal Gaussian q(z) = N(μ, diag(s²)) the ELBO is analytic too, because the
expected squared error under q is the squared error at the mean plus a trace:

    E_q[log p(x|z)] = −D/2 log(2πσ²) − (‖x − b − Wμ‖² + Σ_j s_j² ‖W_:j‖²) / (2σ²)
    ELBO(q)         = E_q[log p(x|z)] − KL(q ‖ p(z))

so the identity that makes variational inference work,

    log p(x) = ELBO(q) + KL(q ‖ p(z | x)),

can be checked to rounding error, and with it what the VAE's Monte Carlo estimators
(ELBO and the importance-weighted bound IWAE_k; Burda, Grosse & Salakhutdinov, 2016)
estimate. Everything is float64 NumPy; ``LinearGaussian`` is a measuring instrument with
parameters given from outside.

``ProbabilisticPCA`` is the same model fitted to data, a registered model ("ppca"). Its
maximum-likelihood fit has a closed form (Tipping & Bishop, 1999): with the sample mean
b and covariance S = U Λ Uᵀ (eigenvalues λ_1 ≥ … ≥ λ_D),

    σ² = (1 / (D − d)) Σ_{j>d} λ_j,    W = U_d (Λ_d − σ² I)^{1/2} R

for any orthogonal R (d, d): p(x) depends on W only through W Wᵀ, so the likelihood
cannot tell rotations of the latent space apart. We take R = I, the principal axes.

The teaching point is the mean-field ELBO. The best factorised q(z) = Π_j N(z_j; m_j, s_j²)
for a Gaussian posterior N(m, S) keeps the exact mean and sets s_j² = 1 / (S⁻¹)_jj (the
diagonal of the precision, not of the covariance), and its gap is the price of the
factorisation: log p(x) − ELBO(q) = KL(q ‖ p(z|x)) ≥ 0. At the R = I solution the
posterior precision I + WᵀW/σ² = Λ_d / σ² is diagonal, so the mean-field q is exact and
the gap vanishes; at W R for any other rotation p(x) is unchanged but the posterior is
correlated and the gap is positive. The likelihood is indifferent to R, the mean-field
ELBO is not: it prefers the principal axes, which is why a linear VAE with a diagonal
encoder recovers them (Lucas, Tucker, Grosse & Norouzi, 2019). ``metrics`` reports the
gap at R = I and at a fixed random rotation drawn at construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp

from autograd import Tensor
from minigen.models.base import (
    CountsFreeParameters,
    ExplicitDensity,
    LatentVariable,
    ReportsMetrics,
    TrainsItself,
)
from minigen.nn import Parameter

LOG_2PI = np.log(2 * np.pi)
# σ² never goes below this: digit pixels on the border are 0 in every training image, so
# S has exact zero eigenvalues; if only those are discarded (d close to D) the ML σ² is 0
# and W Wᵀ + σ² I is singular, giving p(x) = +∞ on the data and −∞ off it.
NOISE_VARIANCE_FLOOR = 1e-6


class LinearGaussian:
    """p(z) = N(0, I), p(x|z) = N(W z + b, σ² I) with closed-form evidence and posterior.

    Parameters
    ----------
    weight : (D, d) the loading matrix W
    bias : (D,) the mean b of x
    noise_log_scale : log σ, the observation noise's log standard deviation
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, noise_log_scale: float) -> None:
        self.weight = np.asarray(weight, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64)
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[0],):
            raise ValueError(
                f"LinearGaussian: weight must be (D, d) and bias (D,); got weight "
                f"{self.weight.shape} and bias {self.bias.shape}"
            )
        self.noise_log_scale = float(noise_log_scale)
        self.data_dim, self.latent_dim = self.weight.shape

    @property
    def noise_variance(self) -> float:
        return float(np.exp(2 * self.noise_log_scale))

    def _check(self, x: np.ndarray, *latents: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"LinearGaussian: x has shape {x.shape}, expected (N, "
                             f"{self.data_dim})")
        for latent in latents:
            if np.shape(latent) != (len(x), self.latent_dim):
                raise ValueError(
                    f"LinearGaussian: q parameters have shape {np.shape(latent)}, expected "
                    f"({len(x)}, {self.latent_dim}) to match x {x.shape}"
                )
        return x

    def log_evidence(self, x: np.ndarray) -> np.ndarray:
        """x : (N, D) -> (N,) log p(x) = log N(x; b, W Wᵀ + σ² I)."""
        x = self._check(x)
        covariance = self.weight @ self.weight.T + self.noise_variance * np.eye(self.data_dim)
        cholesky = np.linalg.cholesky(covariance)
        whitened = np.linalg.solve(cholesky, (x - self.bias).T)  # L⁻¹ (x − b)
        log_det = 2 * np.log(np.diag(cholesky)).sum()
        return -0.5 * (self.data_dim * LOG_2PI + log_det + (whitened**2).sum(axis=0))

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x : (N, D) -> means m (N, d) and the shared covariance S (d, d) of p(z|x)."""
        x = self._check(x)
        precision = np.eye(self.latent_dim) + self.weight.T @ self.weight / self.noise_variance
        covariance = np.linalg.inv(precision)  # S = (I + WᵀW/σ²)⁻¹
        means = (x - self.bias) @ self.weight @ covariance / self.noise_variance  # S Wᵀ(x−b)/σ²
        return means, covariance

    def log_joint(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """x : (N, D), z : (..., N, d) -> (..., N) log p(x | z) + log p(z)."""
        residual = x - (z @ self.weight.T + self.bias)
        log_likelihood = -0.5 * (self.data_dim * (LOG_2PI + 2 * self.noise_log_scale)
                                 + (residual**2).sum(axis=-1) / self.noise_variance)
        log_prior = -0.5 * (self.latent_dim * LOG_2PI + (z**2).sum(axis=-1))
        return log_likelihood + log_prior

    def elbo(self, x: np.ndarray, q_mean: np.ndarray, q_log_scale: np.ndarray) -> np.ndarray:
        """Closed-form ELBO of q = N(q_mean, diag(exp(q_log_scale)²)), per example (N,)."""
        x = self._check(x, q_mean, q_log_scale)
        q_variance = np.exp(2 * q_log_scale)
        residual = x - self.bias - q_mean @ self.weight.T
        column_norms = (self.weight**2).sum(axis=0)  # ‖W_:j‖²
        # E_q[log p(x|z)] = −D/2 log(2πσ²) − (‖x − b − Wμ‖² + Σ_j s_j² ‖W_:j‖²) / (2σ²)
        expected_log_likelihood = -0.5 * (
            self.data_dim * (LOG_2PI + 2 * self.noise_log_scale)
            + ((residual**2).sum(axis=1) + q_variance @ column_norms) / self.noise_variance
        )
        # KL(N(μ, s²) ‖ N(0, 1)) = ½ Σ (μ² + s² − 1 − 2 log s)
        kl_prior = 0.5 * (q_mean**2 + q_variance - 1 - 2 * q_log_scale).sum(axis=1)
        return expected_log_likelihood - kl_prior

    def kl_to_posterior(self, x: np.ndarray, q_mean: np.ndarray,
                        q_log_scale: np.ndarray) -> np.ndarray:
        """KL(q ‖ p(z|x)) per example (N,), for q = N(q_mean, diag(exp(q_log_scale)²))."""
        x = self._check(x, q_mean, q_log_scale)
        means, covariance = self.posterior(x)
        precision = np.linalg.inv(covariance)
        difference = means - q_mean
        _, log_det_posterior = np.linalg.slogdet(covariance)
        # KL(N(μ, Σq) ‖ N(m, S)) = ½ [tr(S⁻¹Σq) + (m−μ)ᵀS⁻¹(m−μ) − d + log|S| − log|Σq|]
        trace = np.exp(2 * q_log_scale) @ np.diag(precision)
        mahalanobis = np.einsum("ni,ij,nj->n", difference, precision, difference)
        return 0.5 * (trace + mahalanobis - self.latent_dim + log_det_posterior
                      - 2 * q_log_scale.sum(axis=1))

    def iwae(self, x: np.ndarray, q_mean: np.ndarray, q_log_scale: np.ndarray, k: int,
             rng: np.random.Generator) -> np.ndarray:
        """One Monte Carlo draw of IWAE_k = log (1/k) Σ_i p(x, z_i) / q(z_i), z_i ~ q; (N,).

        k = 1 is the usual single-sample ELBO estimate.
        """
        x = self._check(x, q_mean, q_log_scale)
        noise = rng.standard_normal((k, *q_mean.shape))
        z = q_mean + np.exp(q_log_scale) * noise  # reparameterised draws from q
        log_q = -0.5 * (LOG_2PI + 2 * q_log_scale + noise**2).sum(axis=-1)
        log_weights = self.log_joint(x, z) - log_q
        return logsumexp(log_weights, axis=0) - np.log(k)


def mean_field_posterior(model: LinearGaussian, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best factorised q for ``model`` at x : (N, D): means (N, d) and log scales (N, d).

    Among q = N(μ, diag(s²)), KL(q ‖ N(m, S)) is smallest at μ = m, s_j² = 1 / (S⁻¹)_jj.
    """
    means, covariance = model.posterior(x)
    precision_diagonal = np.diag(np.linalg.inv(covariance))
    log_scale = -0.5 * np.log(precision_diagonal)  # s_j² = 1 / (S⁻¹)_jj
    return means, np.broadcast_to(log_scale, means.shape).copy()


def random_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A (dim, dim) orthogonal matrix from the uniform (Haar) distribution."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))  # fix the signs QR leaves free, so the draw is uniform


class ProbabilisticPCA(TrainsItself, LatentVariable, ExplicitDensity, CountsFreeParameters,
                       ReportsMetrics):
    """Probabilistic PCA fitted in closed form from running sufficient statistics.

    Continuous data (e.g. "digits" in [0, 1]); log p(x) is a density in nats and can be
    positive, so the NLL can be negative. Examples are flattened row-major.

    Parameters
    ----------
    data_shape : one example's shape, e.g. (1, 8, 8); D = its number of values
    rng : draws the fixed rotation used by ``metrics`` for the rotated mean-field gap
    latent_dim : d, 1 ≤ d < D (σ² averages the D − d discarded eigenvalues)

    Training is ``train_step``: add the batch to (N, Σx, Σxxᵀ) and refit. One pass over
    the data gives the exact maximum-likelihood fit; more passes leave it unchanged. The
    statistics and the fit are float64 buffers (Σxxᵀ/N − b bᵀ cancels digits in float32);
    there are no Parameters and no optimiser. Before any data the model is N(½, I).
    """

    uses_learning_rate = False

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 latent_dim: int = 8) -> None:
        super().__init__()
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"ProbabilisticPCA: rng must be a numpy.random.Generator, got "
                            f"{type(rng).__name__}")
        self.data_shape = tuple(int(size) for size in data_shape)
        self.data_dim = int(np.prod(self.data_shape))
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) or not (
                1 <= latent_dim < self.data_dim):
            raise ValueError(f"ProbabilisticPCA: latent_dim must be an integer in [1, D) = "
                             f"[1, {self.data_dim}) for data_shape {self.data_shape}, got "
                             f"{latent_dim!r}")
        self.latent_dim = int(latent_dim)
        dim, latent = self.data_dim, self.latent_dim
        self.register_buffer("count", np.zeros(()))
        self.register_buffer("sum_x", np.zeros(dim))
        self.register_buffer("sum_xx", np.zeros((dim, dim)))
        self.register_buffer("bias", np.full(dim, 0.5))
        self.register_buffer("eigenvalues", np.ones(dim))  # λ_1 ≥ … ≥ λ_D of S
        self.register_buffer("components", np.eye(dim, latent))  # U_d, the leading eigenvectors
        self.register_buffer("rotation", random_rotation(latent, rng))

    # ----- the fit ------------------------------------------------------------------
    @property
    def noise_variance(self) -> float:
        """σ² = mean of the D − d discarded eigenvalues, floored at NOISE_VARIANCE_FLOOR."""
        return float(max(self.eigenvalues[self.latent_dim:].mean(), NOISE_VARIANCE_FLOOR))

    @property
    def weight(self) -> np.ndarray:
        """W : (D, d) = U_d (Λ_d − σ² I)^{1/2} (R = I)."""
        excess = np.maximum(self.eigenvalues[:self.latent_dim] - self.noise_variance, 0.0)
        return self.components * np.sqrt(excess)

    def linear_gaussian(self, rotation: np.ndarray | None = None) -> LinearGaussian:
        """The fitted model as a LinearGaussian with loading W R (R = I when None)."""
        weight = self.weight if rotation is None else self.weight @ rotation
        return LinearGaussian(weight, self.bias, 0.5 * np.log(self.noise_variance))

    def _flatten(self, x: Any) -> np.ndarray:
        """x : (N, *data_shape) or (N, D) -> (N, D) float64, row-major."""
        x = np.asarray(x.data if isinstance(x, Tensor) else x)
        if x.ndim < 1 or tuple(x.shape[1:]) not in (self.data_shape, (self.data_dim,)):
            raise ValueError(f"ProbabilisticPCA: x has shape {x.shape}, expected (N, "
                             f"*{self.data_shape}) or (N, {self.data_dim})")
        return x.reshape(len(x), self.data_dim).astype(np.float64)

    def train_step(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Add the batch to (N, Σx, Σxxᵀ), refit; returns the batch's NLL (nats) after it."""
        flat = self._flatten(x)
        self.count = np.asarray(self.count + len(flat))
        self.sum_x = self.sum_x + flat.sum(axis=0)
        self.sum_xx = self.sum_xx + flat.T @ flat
        self._refit()
        return {"loss": float(-np.mean(self.log_prob(x)))}

    def _refit(self) -> None:
        self.bias = self.sum_x / self.count  # b = (1/N) Σ x
        covariance = self.sum_xx / self.count - np.outer(self.bias, self.bias)  # S = Σxxᵀ/N − bbᵀ
        eigenvalues, eigenvectors = np.linalg.eigh(0.5 * (covariance + covariance.T))
        order = np.argsort(eigenvalues)[::-1]  # S = U Λ Uᵀ, largest first
        # S is positive semi-definite; rounding can leave its zero eigenvalues at −1e-17
        self.eigenvalues = np.maximum(eigenvalues[order], 0.0)
        self.components = eigenvectors[:, order[:self.latent_dim]]

    def players(self) -> dict[str, list[Parameter]]:
        """None: the fit is closed-form (no optimiser, no learning rate)."""
        return {}

    def num_free_parameters(self) -> int:
        """D (mean) + D d + 1 (W, σ²) − d(d − 1)/2 (the rotations R that leave p(x) alone)."""
        dim, latent = self.data_dim, self.latent_dim
        return dim + dim * latent + 1 - latent * (latent - 1) // 2

    # ----- densities and bounds -----------------------------------------------------
    def log_prob(self, x: Any) -> np.ndarray:
        """x : (N, *data_shape) -> (N,) exact log N(x; b, W Wᵀ + σ² I) in nats."""
        return self.linear_gaussian().log_evidence(self._flatten(x))

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """Mean −log p(x) in nats, as a (constant) Tensor: for evaluation, not gradients."""
        return Tensor(np.asarray(-np.mean(self.log_prob(x))))

    def elbo(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        """x : (N, *data_shape) -> (N,) the closed-form ELBO of the best mean-field q."""
        flat, model = self._flatten(x), self.linear_gaussian()
        return model.elbo(flat, *mean_field_posterior(model, flat))

    def iwae(self, x: Any, k: int, rng: np.random.Generator) -> np.ndarray:
        """x : (N, *data_shape) -> (N,) one draw of IWAE_k with the mean-field q proposing."""
        flat, model = self._flatten(x), self.linear_gaussian()
        return model.iwae(flat, *mean_field_posterior(model, flat), k, rng)

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Mean-field gaps (at R = I and at the fixed random rotation), σ², the fraction of
        the squared distance to the mean that the principal subspace explains."""
        flat = self._flatten(x)
        gaps = {}
        for name, rotation in (("mean_field_gap", None),
                               ("mean_field_gap_rotated", self.rotation)):
            model = self.linear_gaussian(rotation)
            # log p(x) − ELBO(q) = KL(q ‖ p(z|x))
            gaps[name] = float(np.mean(model.log_evidence(flat)
                                       - model.elbo(flat, *mean_field_posterior(model, flat))))
        centred = flat - self.bias
        projected = centred @ self.components  # coordinates along U_d
        explained = float((projected**2).sum() / max((centred**2).sum(), np.finfo(float).tiny))
        return {**gaps, "noise_variance": self.noise_variance, "variance_explained": explained}

    # ----- latents and samples ------------------------------------------------------
    def encode(self, x: Any) -> np.ndarray:
        """x : (N, *data_shape) -> (N, d) posterior means m = S Wᵀ (x − b) / σ²."""
        return self.linear_gaussian().posterior(self._flatten(x))[0]

    def reconstruct(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        """x : (N, *data_shape) -> (N, *data_shape) float32, W m + b at the posterior mean."""
        reconstruction = self.encode(x) @ self.weight.T + self.bias
        return reconstruction.reshape(-1, *self.data_shape).astype(np.float32)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, *data_shape) float32: z ~ N(0, I), x = W z + b + σ ε (Gaussian, not clipped)."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"ProbabilisticPCA.sample: rng must be a numpy.random.Generator, "
                            f"got {type(rng).__name__}")
        z = rng.standard_normal((n, self.latent_dim))
        noise = rng.standard_normal((n, self.data_dim))
        x = z @ self.weight.T + self.bias + np.sqrt(self.noise_variance) * noise  # Wz + b + σε
        return x.reshape(n, *self.data_shape).astype(np.float32)
