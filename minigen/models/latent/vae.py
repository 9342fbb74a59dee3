"""Variational autoencoder (Kingma & Welling, 2014), with the IWAE bound (Burda et al., 2016).

A latent code z ~ p(z) = N(0, I) is decoded by a network into p(x | z). The evidence
log p(x) = log ∫ p(x|z) p(z) dz has no closed form, so an encoder network proposes
q(z | x) = N(μ(x), diag σ(x)²) and both networks maximise the evidence lower bound

    ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) = log p(x) − KL(q(z|x) ‖ p(z|x)) ≤ log p(x)

(the identity is checked exactly on a linear-Gaussian model in ``linear_gaussian.py``).
The expectation is estimated with one reparameterised draw z = μ + σ ε, ε ~ N(0, I), so
gradients flow through the sample into the encoder; the KL between two Gaussians is
taken in closed form, ½ Σ_j (μ_j² + σ_j² − 1 − 2 log σ_j).

The encoder outputs μ and log σ (``log_scale``), and σ = exp(log σ) is the standard
deviation (not exp of a log-variance). The importance-weighted bound

    IWAE_k(x) = E[log (1/k) Σ_i p(x, z_i) / q(z_i|x)],  z_i ~ q(z|x),

is tighter than the ELBO for k > 1 (equal at k = 1) and approaches log p(x) as k grows;
it is the evaluation figure, never the training loss here.

Architecture: MLPs, x (flattened row-major) → Linear+ReLU for each width in ``hidden`` →
Linear to 2·latent_dim (μ, log σ); the decoder mirrors it back to one output per pixel.

Likelihoods:

* "bernoulli" (binary data in {0, 1}, e.g. "digits-binary"): the decoder outputs logits,
  log p(x|z) = Σ_d x_d l_d − softplus(l_d).
* "gaussian" (continuous data, e.g. "digits" in [0, 1]): the decoder outputs means and
  p(x|z) = N(mean, σ_x²) per pixel with one log σ_x per pixel, learned unless
  ``learn_decoder_scale=False`` (then fixed at ``decoder_log_scale``).

Deviation from the paper: ``sample`` and ``reconstruct`` return the decoder's mean —
probabilities σ(l) for "bernoulli", means for "gaussian" — rather than a draw from
p(x|z), because pixel noise hides what the model learned in a picture.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.distributions import Bernoulli, Normal, kl_divergence
from minigen.models.base import LatentVariable
from minigen.nn import Parameter, mlp

LIKELIHOODS = ("bernoulli", "gaussian")


class VAE(LatentVariable):
    """VAE(data_shape, *, rng, latent_dim=16, hidden=(256, 256), likelihood="bernoulli").

    Parameters
    ----------
    data_shape : one example's shape, e.g. (1, 8, 8); flattened to D = prod(data_shape)
    rng : draws the initial weights
    latent_dim : d, the size of z
    hidden : widths of the encoder's hidden layers (the decoder uses them reversed)
    likelihood : "bernoulli" (x in {0, 1}) or "gaussian" (continuous x)
    decoder_log_scale : initial (or fixed) log σ_x of the Gaussian likelihood
    learn_decoder_scale : train log σ_x (one per pixel) with the rest
    condition_dim : width c of a per-example condition vector appended to the encoder's
        input and to z (the conditional VAE's one-hot labels); 0: no condition. With c > 0
        the methods below take ``condition=`` an array (N, c)
    """

    # sample() decodes z ~ N(0, I) to E[x | z]: the pictures are means, not draws of x
    samples_are = "decoder means E[x | z], z ~ N(0, I)"

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        latent_dim: int = 16,
        hidden: tuple[int, ...] = (256, 256),
        likelihood: str = "bernoulli",
        decoder_log_scale: float = -2.0,
        learn_decoder_scale: bool = True,
        condition_dim: int = 0,
    ) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"VAE: likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if latent_dim < 1:
            raise ValueError(f"VAE: latent_dim must be >= 1, got {latent_dim}")
        self.data_shape = tuple(int(d) for d in data_shape)
        self.data_dim = int(np.prod(self.data_shape))
        self.latent_dim = int(latent_dim)
        self.likelihood = likelihood
        if likelihood == "bernoulli":
            self.value_range = (0.0, 1.0)  # a Bernoulli mean; 0..16 levels have no probability
        self.condition_dim = int(condition_dim)
        hidden = [int(h) for h in hidden]
        self.encoder = mlp([self.data_dim + self.condition_dim, *hidden, 2 * self.latent_dim],
                            rng)
        self.decoder = mlp([self.latent_dim + self.condition_dim, *reversed(hidden),
                             self.data_dim], rng)
        if likelihood == "gaussian":
            initial = np.full(self.data_dim, decoder_log_scale, dtype=np.float32)
            self.decoder_log_scale = (Parameter(initial) if learn_decoder_scale
                                      else Tensor(initial))

    @property
    def dtype(self) -> np.dtype:
        return self.encoder[0].weight.dtype

    def _with_condition(self, h: Tensor, condition: Any) -> Tensor:
        """h : (..., N, k) with the condition (N, c) appended on its last axis, if any."""
        if (condition is None) != (self.condition_dim == 0):
            raise ValueError(f"{type(self).__name__}: condition_dim is {self.condition_dim}; "
                             "pass condition= exactly when it is > 0")
        if condition is None:
            return h
        condition = ag.as_tensor(np.asarray(condition, dtype=self.dtype))
        if condition.shape != (h.shape[-2], self.condition_dim):
            raise ValueError(f"{type(self).__name__}: condition has shape {condition.shape}, "
                             f"expected ({h.shape[-2]}, {self.condition_dim})")
        return ag.concat([h, condition.expand(h.shape[:-1] + (self.condition_dim,))], axis=-1)

    def posterior(self, x: Any, condition: Any = None) -> Normal:
        """q(z|x) = N(μ, diag σ²), σ = exp(log_scale).  x : (N, *data_shape); batch (N, d)."""
        encoded = self.encoder(self._with_condition(self.examples(x, flat=True), condition))
        mean, log_scale = ag.split(encoded, 2, axis=-1)
        return Normal(mean, log_scale)

    def prior(self) -> Normal:
        """p(z) = N(0, I), batch shape (d,)."""
        return Normal.standard((self.latent_dim,), dtype=self.dtype)

    def decode(self, z: Any, condition: Any = None) -> Tensor:
        """z : (..., N, d) -> (..., N, D) Bernoulli logits, or Gaussian means."""
        return self.decoder(self._with_condition(ag.as_tensor(z), condition))

    def log_likelihood(self, x: Tensor, decoded: Tensor) -> Tensor:
        """log p(x|z) summed over pixels.  x : (N, D), decoded : (..., N, D) -> (..., N)."""
        if self.likelihood == "bernoulli":
            return Bernoulli(decoded).log_prob(x).sum(axis=-1)  # Σ_d x_d l_d − softplus(l_d)
        return Normal(decoded, self.decoder_log_scale).log_prob(x).sum(axis=-1)

    def elbo_terms(
        self, x: Any, rng: np.random.Generator, condition: Any = None
    ) -> tuple[Tensor, Tensor]:
        """One-draw E_q[log p(x|z)] and the closed-form KL(q(z|x) ‖ p(z)), each (N,)."""
        flat = self.examples(x, flat=True)
        q = self.posterior(flat, condition)
        z = q.rsample(rng)  # z = μ + σ ε
        reconstruction = self.log_likelihood(flat, self.decode(z, condition))
        kl = kl_divergence(q, self.prior()).sum(axis=-1)  # ½ Σ (μ² + σ² − 1 − 2 log σ)
        return reconstruction, kl

    def loss(self, x: Any, rng: np.random.Generator, condition: Any = None) -> Tensor:
        """−ELBO averaged over the batch (nats).  x : (N, *data_shape)."""
        reconstruction, kl = self.elbo_terms(x, rng, condition)
        return (kl - reconstruction).mean()  # −(E_q[log p(x|z)] − KL)

    def elbo(self, x: Any, rng: np.random.Generator, condition: Any = None) -> np.ndarray:
        """One-draw ELBO estimate per example, (N,) float64 nats."""
        with ag.no_grad():
            reconstruction, kl = self.elbo_terms(x, rng, condition)
        return (reconstruction.data - kl.data).astype(np.float64)

    def iwae(
        self, x: Any, k: int, rng: np.random.Generator, chunk: int = 65536,
        condition: Any = None,
    ) -> np.ndarray:
        """IWAE_k = log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q; (N,) float64 nats.

        Examples are processed in groups of about ``chunk // k`` to bound memory.
        """
        if k < 1:
            raise ValueError(f"VAE.iwae: k must be >= 1, got {k}")
        flat = self.examples(x, flat=True).data
        group = max(1, chunk // k)
        pieces = []
        with ag.no_grad():
            for start in range(0, len(flat), group):
                x_group = Tensor(flat[start:start + group])
                c_group = None if condition is None else condition[start:start + group]
                q = self.posterior(x_group, c_group)
                z = q.rsample(rng, (k,))  # (k, N, d)
                log_weights = (self.log_likelihood(x_group, self.decode(z, c_group))
                               + self.prior().log_prob(z).sum(axis=-1)
                               - q.log_prob(z).sum(axis=-1))  # log p(x, z) − log q(z|x)
                bound = ag.logsumexp(log_weights.astype(np.float64), axis=0) - np.log(k)
                pieces.append(bound.data)
        return np.concatenate(pieces) if pieces else np.zeros(0)

    def _mean_image(self, decoded: Tensor) -> np.ndarray:
        mean = ag.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded
        return mean.data.reshape(*decoded.shape[:-1], *self.data_shape)

    def sample(self, n: int, rng: np.random.Generator, condition: Any = None) -> np.ndarray:
        """Decoder means of n draws z ~ N(0, I): (n, *data_shape), probabilities for
        "bernoulli" (in (0, 1)), means for "gaussian"."""
        with ag.no_grad():
            z = self.prior().sample(rng, (n,))
            return self._mean_image(self.decode(z, condition))

    def reconstruct(self, x: Any, rng: np.random.Generator, condition: Any = None) -> np.ndarray:
        """Decoder mean at one draw z ~ q(z|x): (N, *data_shape)."""
        with ag.no_grad():
            z = self.posterior(x, condition).rsample(rng)
            return self._mean_image(self.decode(z, condition))

    def encode(self, x: Any, condition: Any = None) -> np.ndarray:
        """Posterior means μ(x): (N, d)."""
        with ag.no_grad():
            return self.posterior(x, condition).loc.data.copy()

    def interpolate(self, x_a: Any, x_b: Any, steps: int = 8) -> np.ndarray:
        """Decoder means along the straight line from μ(x_a) to μ(x_b) in latent space.

        x_a, x_b : (*data_shape) or (1, *data_shape) -> (steps, *data_shape)
        """
        ends = self.encode(np.stack([np.asarray(x_a).reshape(self.data_shape),
                                     np.asarray(x_b).reshape(self.data_shape)]))
        weights = np.linspace(0.0, 1.0, steps, dtype=self.dtype)[:, None]
        z = (1 - weights) * ends[0] + weights * ends[1]  # z_t = (1 − t) μ_a + t μ_b
        with ag.no_grad():
            return self._mean_image(self.decode(z))
