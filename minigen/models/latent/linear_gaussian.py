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
estimate. Everything is float64 NumPy; this model is a measuring instrument, not trained.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

LOG_2PI = np.log(2 * np.pi)


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
