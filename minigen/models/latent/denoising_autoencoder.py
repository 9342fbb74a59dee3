"""The denoising autoencoder: reconstruct the clean input from a corrupted copy.

Vincent, Larochelle, Bengio & Manzagol (2008), "Extracting and Composing Robust Features
with Denoising Autoencoders". An input x is corrupted by a known process C(x̃ | x) and
the autoencoder is trained to undo it:

    min_{f, g}  E_x E_{x̃ ~ C(·|x)} [ ℓ(x, σ(g(f(x̃)))) ]

so the code must capture the dependencies between pixels instead of copying them. Two
corruptions:

* "mask" (masking noise, the paper's choice): a fixed number round(ν·D) of the D inputs,
  chosen uniformly at random for each example, is set to 0 (``noise_level`` = ν);
* "gaussian": x̃ = x + σ ε with ε ~ N(0, I) (``noise_level`` = σ), not clipped.

With ``noise_level`` 0 both corruptions are the identity and the model is exactly the
plain :class:`Autoencoder` (same weights, same loss). ``reconstruct`` applies no noise;
``denoise`` maps an already-noisy batch to its clean estimate. Like the plain
autoencoder this is not a generative model on its own; run as a Markov chain it becomes
one (see ``minigen.models.energy.gsn``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_choice
from minigen.models.base import Denoiser

from .autoencoder import Autoencoder

CORRUPTIONS = ("mask", "gaussian")


def masking_noise(x: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Zero round(fraction·D) entries of each example, chosen uniformly without replacement.

    x : (N, ...) -> same shape; D is the number of entries of one example.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"masking_noise: fraction must be in [0, 1], got {fraction}")
    flat = np.array(x, copy=True).reshape(len(x), -1)
    num_masked = int(round(fraction * flat.shape[1]))
    # The first num_masked positions of a random permutation of each row are dropped.
    dropped = np.argsort(rng.random(flat.shape), axis=1)[:, :num_masked]
    np.put_along_axis(flat, dropped, 0, axis=1)
    return flat.reshape(np.shape(x))


def gaussian_noise(x: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """x̃ = x + σ ε, ε ~ N(0, I).  x : any shape -> same shape and dtype."""
    if std < 0:
        raise ValueError(f"gaussian_noise: std must be >= 0, got {std}")
    x = np.asarray(x)
    return (x + std * rng.standard_normal(x.shape)).astype(x.dtype, copy=False)


class DenoisingAutoencoder(Autoencoder, Denoiser):
    """An :class:`Autoencoder` trained to map C(x) back to x.

    Parameters
    ----------
    data_shape, rng : as :class:`Autoencoder`
    corruption : "mask" or "gaussian"
    noise_level : ν, the fraction of inputs zeroed ("mask"), or σ ("gaussian")
    **autoencoder_hparams : ``hidden``, ``latent_dim``, ``loss``,
        ``code_activation`` of :class:`Autoencoder`
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        corruption: str = "mask",
        noise_level: float = 0.25,
        **autoencoder_hparams: Any,
    ) -> None:
        super().__init__(data_shape, rng=rng, **autoencoder_hparams)
        check_choice("corruption", corruption, CORRUPTIONS)
        if noise_level < 0 or (corruption == "mask" and noise_level > 1):
            raise ValueError(f"noise_level must be in [0, 1] for masking noise and >= 0 for "
                             f"Gaussian noise, got {noise_level} ({corruption!r})")
        self.corruption, self.noise_level = corruption, float(noise_level)

    def corrupt(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        """x̃ ~ C(·|x).  x : (N, *data_shape) -> (N, *data_shape)."""
        x = np.asarray(x.data if isinstance(x, Tensor) else x)
        if self.corruption == "mask":
            return masking_noise(x, self.noise_level, rng)
        return gaussian_noise(x, self.noise_level, rng)

    def loss(self, x: Any, rng: np.random.Generator) -> Tensor:
        """E_x̃ ℓ(x, σ(g(f(x̃)))) with one x̃ per example; the target is the clean x."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError("DenoisingAutoencoder.loss: rng must be a numpy.random.Generator "
                            f"(it draws the corruption), got {type(rng).__name__}")
        return self.reconstruction_loss(self(self.corrupt(x, rng)), x)

    def denoise(self, x_noisy: Any) -> np.ndarray:
        """The clean estimate σ(g(f(x̃))).  x_noisy : (N, *data_shape) -> (N, *data_shape)."""
        with ag.no_grad():
            return ag.sigmoid(self(x_noisy)).data

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """The plain reconstruction figures, and the MSE of denoising C(x) back to x."""
        figures = super().metrics(x, rng)
        if rng is not None:
            error = self.denoise(self.corrupt(x, rng)) - np.asarray(x)
            figures["denoising_mse"] = float(np.mean(error**2))
        return figures

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, corruption={self.corruption!r}, "
                f"noise_level={self.noise_level}")
