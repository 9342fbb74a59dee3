"""Conditional VAE: a VAE of p(x | y), with the label given to the encoder and the decoder.

Idea. To generate an example of a chosen class, condition every distribution of the VAE
on the label y: the prior stays p(z) = N(0, I) (z independent of y), the decoder models
p(x | z, y) and the encoder q(z | x, y). The label enters as a one-hot vector appended to
the encoder's input and to z. Since the decoder is told the class, the code z is free to
carry what the label does not say — the style: slant, thickness — so decoding one z with
each of the ten labels writes the same style as ten different digits.

Objective (maximised; the conditional ELBO, mean over the batch, nats):

    ELBO(x | y) = E_{q(z|x,y)}[log p(x | z, y)] − KL(q(z | x, y) ‖ p(z)) ≤ log p(x | y)

The networks, the reparameterised draw, the closed-form KL and the IWAE bound are the
VAE's (``vae.py``, with ``condition_dim`` = number of classes); this class only turns
labels into one-hot vectors and passes them as the condition. With the weights on the
one-hot inputs set to zero it is exactly the VAE (a test checks this).

Paper: K. Sohn, H. Lee, X. Yan (2015), "Learning Structured Output Representation using
Deep Conditional Generative Models", NeurIPS (the CVAE); see also D. P. Kingma,
D. J. Rezende, S. Mohamed, M. Welling (2014), "Semi-supervised Learning with Deep
Generative Models", NeurIPS (model M2 with observed labels).

Deviation: Sohn et al. also learn a prior network p(z | y) (their x is the input and y the
output); here p(z) = N(0, I) as in the simplest CVAE, which is what makes "same z, other
label" a style transfer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.checks import check_labels

from .vae import VAE


class ConditionalVAE(VAE):
    """ConditionalVAE(data_shape, *, rng, num_classes=10, **VAE hyper-parameters).

    Parameters
    ----------
    data_shape, rng, latent_dim, hidden, likelihood, … : as :class:`VAE`
    num_classes : C; labels are integers in [0, C)

    Every method takes the labels as ``y : (N,)`` integers, one per example.
    """

    conditions = ("y",)

    def __init__(
        self, data_shape: tuple[int, ...], *, rng: np.random.Generator, num_classes: int = 10,
        **vae_hparams: Any,
    ) -> None:
        if num_classes < 1:
            raise ValueError(f"ConditionalVAE: num_classes must be >= 1, got {num_classes}")
        super().__init__(data_shape, rng=rng, condition_dim=int(num_classes), **vae_hparams)
        self.num_classes = int(num_classes)

    def one_hot(self, y: Any, n: int) -> np.ndarray:
        """Labels y : (n,) integers in [0, C) -> (n, C) one-hot rows in the model's dtype."""
        labels = check_labels("ConditionalVAE", y, n, self.num_classes)
        return np.eye(self.num_classes, dtype=self.dtype)[labels]

    def loss(self, x: Any, rng: np.random.Generator, y: Any = None) -> Tensor:
        """−ELBO(x | y) averaged over the batch.  x : (N, *data_shape), y : (N,)."""
        return super().loss(x, rng, condition=self.one_hot(y, len(x)))

    def elbo(self, x: Any, rng: np.random.Generator, y: Any = None) -> np.ndarray:
        """One-draw ELBO(x | y) per example, (N,) float64 nats."""
        return super().elbo(x, rng, condition=self.one_hot(y, len(x)))

    def iwae(
        self, x: Any, k: int, rng: np.random.Generator, chunk: int = 65536, y: Any = None
    ) -> np.ndarray:
        """IWAE_k bound on log p(x | y) per example, (N,) float64 nats."""
        return super().iwae(x, k, rng, chunk, condition=self.one_hot(y, len(x)))

    def sample(self, n: int, rng: np.random.Generator, y: Any = None) -> np.ndarray:
        """Decoder means of z ~ N(0, I) decoded with labels y : (n,) -> (n, *data_shape)."""
        return super().sample(n, rng, condition=self.one_hot(y, int(n)))

    def reconstruct(self, x: Any, rng: np.random.Generator, y: Any = None) -> np.ndarray:
        """Decoder mean at one draw z ~ q(z | x, y): (N, *data_shape)."""
        return super().reconstruct(x, rng, condition=self.one_hot(y, len(x)))

    def encode(self, x: Any, y: Any = None) -> np.ndarray:
        """Posterior means μ(x, y): (N, d)."""
        return super().encode(x, condition=self.one_hot(y, len(x)))
