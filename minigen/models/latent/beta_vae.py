"""β-VAE: the VAE with a weight β on the KL term, trading reconstruction for a simpler code.

Idea. The VAE maximises E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)). Weighting the KL by β > 1
presses the posterior harder towards the factorised prior N(0, I), which encourages codes
whose dimensions vary independently ("disentangled") at the cost of blurrier
reconstructions; β < 1 does the opposite. β = 1 is the VAE exactly.

Objective (minimised; mean over the batch, nats):

    L_β(x) = −E_q[log p(x|z)] + β · KL(q(z|x) ‖ p(z))

Everything else — the encoder and decoder, the reparameterised draw, the closed-form KL,
sampling — is the VAE's (``vae.py``), inherited unchanged. ``elbo`` and ``iwae`` stay the
true bounds on log p(x) (β = 1), so a β-VAE is evaluated on the same scale as a VAE;
``metrics`` adds the two terms separately: the KL ("rate") and E_q[log p(x|z)].

Paper: I. Higgins, L. Matthey, A. Pal, C. Burgess, X. Glorot, M. Botvinick, S. Mohamed,
A. Lerchner (2017), "β-VAE: Learning Basic Visual Concepts with a Constrained Variational
Framework", ICLR.

Deviation: MLPs on 8×8 digits rather than the paper's convolutional networks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.base import ReportsMetrics

from .vae import VAE


class BetaVAE(VAE, ReportsMetrics):
    """BetaVAE(data_shape, *, rng, beta=4.0, **VAE hyper-parameters).

    Parameters
    ----------
    data_shape, rng, latent_dim, hidden, likelihood, … : as :class:`VAE`
    beta : β ≥ 0, the weight of the KL term in the training loss
    """

    def __init__(
        self, data_shape: tuple[int, ...], *, rng: np.random.Generator, beta: float = 2.0,
        **vae_hparams: Any,
    ) -> None:
        if not beta >= 0:
            raise ValueError(f"BetaVAE: beta must be >= 0, got {beta}")
        super().__init__(data_shape, rng=rng, **vae_hparams)
        self.beta = float(beta)

    def loss(self, x: Any, rng: np.random.Generator, condition: Any = None) -> Tensor:
        """−E_q[log p(x|z)] + β KL(q(z|x) ‖ p(z)), mean over the batch.  x : (N, *data_shape)."""
        reconstruction, kl = self.elbo_terms(x, rng, condition)
        return (self.beta * kl - reconstruction).mean()  # −(E_q log p(x|z) − β KL)

    def metrics(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        """Mean KL(q(z|x) ‖ p(z)) ("kl", nats) and one-draw E_q[log p(x|z)] ("log_likelihood")."""
        with ag.no_grad():
            reconstruction, kl = self.elbo_terms(x, rng)
        return {"kl": float(kl.data.mean()), "log_likelihood": float(reconstruction.data.mean())}
