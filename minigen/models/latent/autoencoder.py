"""The plain autoencoder: learn a code h = f(x) from which g(h) gives x back.

An encoder f maps an image to a low-dimensional code and a decoder g maps the code back;
both are trained together to make the reconstruction close to the input:

    min_{f, g}  E_x [ ℓ(x, σ(g(f(x)))) ],   ℓ = Σ_d (x̂_d − x_d)²   ("mse")
                                             ℓ = Σ_d |x̂_d − x_d|     ("mae")
                                             ℓ = Σ_d softplus(l_d) − x_d l_d   ("bce", on logits l)

The decoder outputs logits l = g(h); the reconstruction is x̂ = σ(l), which lies in
(0, 1) like the data ("digits", values in [0, 1]). MSE and MAE compare x̂ with x; BCE is
the Bernoulli cross-entropy with x as a soft target, computed from the logits (for a
grey pixel its minimum is the entropy of x_d, not 0). Losses are summed over pixels and
averaged over the batch.

This is manifold learning, not a generative model (Hinton & Salakhutdinov, 2006; course
note 001): nothing says which codes are likely, so there is no distribution to sample
from. ``sample`` raises and says so; the VAE adds the missing prior.

Two architectures share the interface, one class each:

* :class:`Autoencoder` (MLP): x → Linear+ReLU for each width in ``hidden`` → Linear to
  the code; the decoder mirrors it.
* :class:`ConvAutoencoder`: each entry of ``hidden`` is a Conv2d(k=3, stride 2,
  padding 1)+ReLU halving the image; the flattened map goes through a Linear to the code.
  The decoder mirrors it with ConvTranspose2d(k=4, stride 2, padding 1), which doubles
  the size exactly, so H and W must be divisible by 2^len(hidden).

``code_activation`` ("identity" or "sigmoid") is applied to the code; the sparse
autoencoder needs sigmoid units whose mean activation is a firing rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_choice
from minigen.models.base import Encoder, ReportsMetrics
from minigen.nn import Conv2d, ConvTranspose2d, Linear, Module, Sequential
from minigen.nn.losses import RECONSTRUCTION_LOSSES

CODE_ACTIVATIONS = ("identity", "sigmoid")


def reconstruction_metrics(
    x: Any, reconstruction: np.ndarray, code: np.ndarray
) -> dict[str, float]:
    """Per-pixel MSE and MAE of ``reconstruction`` against x, and the mean of ``code``."""
    error = reconstruction - np.asarray(x)
    return {"reconstruction_mse": float(np.mean(error**2)),
            "reconstruction_mae": float(np.mean(np.abs(error))),
            "mean_code_activation": float(np.mean(code))}


def not_generative(model: Module) -> str:
    """Why an autoencoder's ``sample`` raises: the message for its NotImplementedError."""
    return (f"{type(model).__name__} is not a generative model: it learns a code for the "
            "data manifold but no distribution over codes, so there is nothing to sample "
            "from. Use reconstruct(x) or encode(x); for samples train a VAE ('vae').")


class AutoencoderReadout:
    """What every deterministic autoencoder shows the outside world, from two methods.

    A class using it defines ``code(x) -> Tensor`` (the encoder f) and
    ``decode_logits(code) -> Tensor`` (the decoder g, before the sigmoid).
    """

    def reconstruct(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        """x̂ = σ(g(f(x))) in [0, 1].  x : (N, *data_shape) -> (N, *data_shape)."""
        with ag.no_grad():
            return ag.sigmoid(self.decode_logits(self.code(x))).data

    def encode(self, x: Any) -> np.ndarray:
        """The codes h = f(x).  x : (N, *data_shape) -> (N, code size)."""
        with ag.no_grad():
            return self.code(x).data

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Per-pixel reconstruction MSE and MAE, and the mean code activation."""
        with ag.no_grad():
            code = self.code(x)
            reconstruction = ag.sigmoid(self.decode_logits(code)).data
        return reconstruction_metrics(x, reconstruction, code.data)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError(not_generative(self))


class Autoencoder(AutoencoderReadout, Encoder, ReportsMetrics):
    """Deterministic MLP encoder and decoder trained to reconstruct their input.

    Parameters
    ----------
    data_shape : one example's shape, (C, H, W) or (D,)
    rng : draws the initial weights
    hidden : widths of the hidden layers (channel counts in :class:`ConvAutoencoder`)
    latent_dim : size d of the code
    loss : "mse", "mae" or "bce" (see the module docstring)
    code_activation : "identity" or "sigmoid", applied to the code
    """

    generative = False  # no prior over codes: sample raises (the VAE adds one)
    loss_unit = "reconstruction loss per image (summed over pixels)"

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        hidden: tuple[int, ...] = (128,),
        latent_dim: int = 16,
        loss: str = "mse",
        code_activation: str = "identity",
    ) -> None:
        super().__init__()
        check_choice("loss", loss, tuple(RECONSTRUCTION_LOSSES))
        self.reconstruction_loss = RECONSTRUCTION_LOSSES[loss]
        check_choice("code_activation", code_activation, CODE_ACTIVATIONS)
        self.data_shape = tuple(int(s) for s in data_shape)
        self.hidden, self.latent_dim = tuple(int(h) for h in hidden), int(latent_dim)
        self.loss_kind, self.code_activation = loss, code_activation
        self._build(rng)

    def _build(self, rng: np.random.Generator) -> None:
        widths = (int(np.prod(self.data_shape)), *self.hidden)
        self.encoder = Sequential(*[Linear(a, b, rng=rng) for a, b in zip(widths, widths[1:])])
        self.to_code = Linear(widths[-1], self.latent_dim, rng=rng)
        self.from_code = Linear(self.latent_dim, widths[-1], rng=rng)
        back = widths[::-1]
        self.decoder = Sequential(*[Linear(a, b, rng=rng) for a, b in zip(back, back[1:])])

    def _encoder_input(self, x: Tensor) -> Tensor:
        return x.reshape(len(x), -1)  # the MLP sees the flattened image

    def _decoder_input(self, hidden: Tensor) -> Tensor:
        return hidden

    # ----- the two maps ------------------------------------------------------------
    def code(self, x: Any) -> Tensor:
        """h = f(x), recorded.  x : (N, *data_shape) -> (N, latent_dim)."""
        hidden = self._encoder_input(self.examples(x))
        for layer in self.encoder:
            hidden = ag.relu(layer(hidden))
        pre_code = self.to_code(hidden.reshape(len(hidden), -1))
        return ag.sigmoid(pre_code) if self.code_activation == "sigmoid" else pre_code

    def decode_logits(self, code: Tensor) -> Tensor:
        """l = g(h).  code : (N, latent_dim) -> logits (N, *data_shape)."""
        hidden = self._decoder_input(self.from_code(code))
        for layer in self.decoder:
            hidden = layer(ag.relu(hidden))
        return hidden.reshape(len(hidden), *self.data_shape)

    def forward(self, x: Any) -> Tensor:
        """Reconstruction logits.  x : (N, *data_shape) -> (N, *data_shape)."""
        return self.decode_logits(self.code(x))

    # ----- the model protocol ------------------------------------------------------
    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """Mean over the batch of ℓ(x, σ(g(f(x)))); ``rng`` is unused (deterministic)."""
        return self.reconstruction_loss(self(x), x)

    def extra_repr(self) -> str:
        return (f"data_shape={self.data_shape}, hidden={self.hidden}, latent_dim="
                f"{self.latent_dim}, loss={self.loss_kind!r}")


class ConvAutoencoder(Autoencoder):
    """The autoencoder with strided convolutions: ``hidden`` lists channel counts, each
    stage halving H and W (data_shape must be (C, H, W), H and W divisible by 2^stages)."""

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        hidden: tuple[int, ...] = (16, 32),
        latent_dim: int = 16,
        loss: str = "mse",
        code_activation: str = "identity",
    ) -> None:
        super().__init__(data_shape, rng=rng, hidden=hidden, latent_dim=latent_dim, loss=loss,
                         code_activation=code_activation)

    def _build(self, rng: np.random.Generator) -> None:
        if len(self.data_shape) != 3:
            raise ValueError(f"ConvAutoencoder: data_shape must be (C, H, W), got "
                             f"{self.data_shape}")
        channels, height, width = self.data_shape
        factor = 2 ** len(self.hidden)
        if height % factor or width % factor:
            raise ValueError(f"ConvAutoencoder: H and W ({height}, {width}) must be "
                             f"divisible by 2^len(hidden) = {factor}")
        chans = (channels, *self.hidden)
        self.encoder = Sequential(*[Conv2d(a, b, 3, stride=2, padding=1, rng=rng)
                                    for a, b in zip(chans, chans[1:])])
        self._map_shape = (chans[-1], height // factor, width // factor)
        flat = int(np.prod(self._map_shape))
        self.to_code = Linear(flat, self.latent_dim, rng=rng)
        self.from_code = Linear(self.latent_dim, flat, rng=rng)
        back = chans[::-1]
        self.decoder = Sequential(*[ConvTranspose2d(a, b, 4, stride=2, padding=1, rng=rng)
                                    for a, b in zip(back, back[1:])])

    def _encoder_input(self, x: Tensor) -> Tensor:
        return x  # the convolutions see the image

    def _decoder_input(self, hidden: Tensor) -> Tensor:
        return hidden.reshape(len(hidden), *self._map_shape)
