"""Adversarial autoencoder: an autoencoder whose codes are pushed towards any prior we can sample.

Idea. A deterministic encoder f and decoder g are trained to reconstruct x, as in the plain
autoencoder. Their codes have some distribution q(z) = E_x[δ(z − f(x))] that nothing
controls, so decoding a random z gives nothing sensible. The VAE fixes this with a KL term,
which needs the prior's density in closed form. Here a GAN is played in code space
instead: a discriminator D(z) = σ(d(z)) learns to tell prior samples z ~ p(z) from codes
f(x), and the encoder learns to fool it, which drives q(z) towards p(z). Only samples of
the prior are needed, so it can be a ring of ten Gaussians or a swiss roll. Afterwards
decoding z ~ p(z) generates data.

Objective, three updates per batch (each with its own Adam optimiser):

    reconstruction  min_{f,g}  E_x ℓ(x, g(f(x)))       (ℓ as in ``autoencoder.py``)
    discriminator   min_d  E_{z~p}[softplus(−d(z))] + E_x[softplus(d(f(x)))]
                        = −E_p[log D(z)] − E_x[log(1 − D(f(x)))]
    generator       min_f  E_x[softplus(−d(f(x)))] = −E_x[log D(f(x))]

written as binary cross-entropy with logits, BCE(l, y) = softplus(l) − y·l, targets 1 for
prior samples and 0 for codes. For a fixed encoder the best discriminator is
D*(z) = p(z) / (p(z) + q(z)) (Goodfellow et al., 2014), which is 1/2 everywhere once the
codes follow the prior; a test checks both.

Priors ("prior"): "gaussian" N(0, I_d); "mixture10" ten Gaussians (std 0.5) on a circle of
radius 4 (``minigen.data.mixture_of_gaussians_2d``, d = 2); "swissroll" the 2-D spiral of
``minigen.data.swiss_roll`` (d = 2). With latent_dim = 2 the code scatter of the test
digits can be compared with the prior directly.

Paper: A. Makhzani, J. Shlens, N. Jaitly, I. Goodfellow, B. Frey (2016), "Adversarial
Autoencoders", ICLR workshop.

Deviations: Adam (β₁ = 0.5 for the two adversarial players) instead of SGD with momentum;
the encoder is the deterministic variant of the paper; the generator uses the
non-saturating loss −log D(f(x)) rather than log(1 − D(f(x))), as GANs usually do, because
it gives the encoder a gradient while the discriminator is still winning. ``sample``
returns the decoder's mean σ(g(z)), like the VAE, not a draw of pixel noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_choice
from minigen.data import mixture_of_gaussians_2d, swiss_roll
from minigen.models.base import PriorSampler, TrainsItself
from minigen.nn import Parameter, mlp
from minigen.nn.losses import gan_loss

from .autoencoder import Autoencoder

PRIORS = ("gaussian", "mixture10", "swissroll")


def sample_prior(prior: str, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n draws (n, dim) float64 from one of ``PRIORS``."""
    check_choice("prior", prior, PRIORS)
    if prior == "gaussian":
        return rng.standard_normal((n, dim))
    if dim != 2:
        raise ValueError(f"prior {prior!r} lives in 2 dimensions; latent_dim is {dim}")
    return mixture_of_gaussians_2d(n, rng) if prior == "mixture10" else swiss_roll(n, rng)


class AdversarialAutoencoder(Autoencoder, TrainsItself, PriorSampler):
    """MLP autoencoder (see ``autoencoder.py``) plus a discriminator on its codes.

    Parameters
    ----------
    data_shape : one example's shape, e.g. (1, 8, 8) for "digits" (values in [0, 1])
    rng : draws the initial weights
    latent_dim : d, the size of the code (2 for a scatter plot)
    prior : "gaussian", "mixture10" or "swissroll" (the last two need d = 2)
    hidden : encoder widths; the decoder mirrors them
    loss : reconstruction loss "bce", "mse" or "mae" on the decoder's logits
    discriminator_hidden : widths of the discriminator's hidden ReLU layers

    Players (their optimisers are built by the trainer from ``--lr`` and the registry's
    settings): "reconstruction" (encoder and decoder), "discriminator", "generator" (the
    encoder alone).
    """

    generative = True  # decoding z ~ p(z) generates data

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        latent_dim: int = 2,
        prior: str = "mixture10",
        hidden: tuple[int, ...] = (256, 256),
        loss: str = "bce",
        discriminator_hidden: tuple[int, ...] = (64, 64),
    ) -> None:
        check_choice("prior", prior, PRIORS)
        if prior != "gaussian" and latent_dim != 2:
            raise ValueError(f"AdversarialAutoencoder: prior {prior!r} needs latent_dim=2, "
                             f"got {latent_dim}")
        super().__init__(data_shape, rng=rng, hidden=hidden, latent_dim=latent_dim, loss=loss)
        self.prior = prior
        widths = [self.latent_dim, *(int(h) for h in discriminator_hidden), 1]
        self.discriminator = mlp(widths, rng)  # logits d(z)

    def players(self) -> dict[str, list[Parameter]]:
        """reconstruction: encoder + decoder; discriminator: d; generator: the encoder."""
        discriminator_ids = {id(p) for p in self.discriminator.parameters()}
        autoencoder = [p for p in self.parameters() if id(p) not in discriminator_ids]
        return {"reconstruction": autoencoder,
                "discriminator": self.discriminator.parameters(),
                "generator": self.encoder.parameters() + self.to_code.parameters()}

    def sample_prior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws z ~ p(z): (n, latent_dim) in the model's dtype."""
        return sample_prior(self.prior, int(n), self.latent_dim, rng).astype(self.dtype)

    @property
    def dtype(self) -> np.dtype:
        return self.to_code.weight.dtype

    def discriminator_logits(self, z: Any) -> Tensor:
        """d(z), with D(z) = σ(d(z)) the probability that z came from the prior.

        z : (N, latent_dim) -> (N,)."""
        return self.discriminator(ag.as_tensor(z)).reshape(-1)

    def train_step(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        """One reconstruction, one discriminator and one generator (encoder) update.

        x : (N, *data_shape). Returns the three losses and the discriminator's mean output
        on prior samples and on codes.
        """
        x = self._as_input(x)
        game = gan_loss("non_saturating")
        reconstruction = self.step_player("reconstruction", lambda: self.loss(x))
        with ag.no_grad():
            codes = self.code(x)  # the encoder is a fixed player in the discriminator's step
        logits_prior = self.discriminator_logits(self.sample_prior(len(x), rng))
        logits_code = self.discriminator_logits(codes)
        # −E_p[log D(z)] − E_q[log(1 − D(z))]: prior samples are "real", codes "fake"
        d_loss = self.step_player(
            "discriminator", lambda: game.discriminator(logits_prior, logits_code))
        # −E_q[log D(f(x))]: the encoder wants its codes taken for prior samples
        g_loss = self.step_player(
            "generator", lambda: game.generator(self.discriminator_logits(self.code(x))))
        return {"reconstruction": reconstruction, "discriminator": d_loss, "generator": g_loss,
                "d_prior": float(ag.sigmoid(logits_prior).data.mean()),
                "d_code": float(ag.sigmoid(logits_code).data.mean())}

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """σ(g(z)) for n draws z ~ p(z): (n, *data_shape) in [0, 1]."""
        with ag.no_grad():
            return ag.sigmoid(self.decode_logits(Tensor(self.sample_prior(n, rng)))).data

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Reconstruction MSE/MAE, and the discriminator's mean output on codes f(x) and on
        as many prior samples (both near 1/2 when q(z) matches p(z))."""
        rng = np.random.default_rng(0) if rng is None else rng
        figures = super().metrics(x, rng)
        with ag.no_grad():
            codes = self.code(x)
            on_codes = ag.sigmoid(self.discriminator_logits(codes)).data
            prior = self.sample_prior(len(codes), rng)
            on_prior = ag.sigmoid(self.discriminator_logits(prior)).data
        return {**figures, "d_code": float(on_codes.mean()), "d_prior": float(on_prior.mean())}

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, prior={self.prior!r}"
