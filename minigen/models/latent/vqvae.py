"""VQ-VAE: an autoencoder with a discrete code map, and a PixelCNN prior over the codes.

Idea. A convolutional encoder turns an image into a map of vectors z_e : (D, h, w). Each
vector is replaced by the nearest of K learned codebook vectors (``minigen.nn.quantize``),
so an image becomes an h×w grid of integers in {0, …, K−1}, and the decoder reconstructs
the image from the quantised map z_q. The posterior is deterministic (one-hot), so the
KL to a uniform prior is the constant log K per position and drops out of training.
To generate, a PixelCNN is fitted afterwards to the code maps of the data, new maps are
drawn from it position by position, and the decoder turns them into images.

Objective (per image, summed over the h·w positions, mean over the batch):

    L = ℓ(x, g(z_q)) + ‖sg(z_e) − e‖² + β ‖z_e − sg(e)‖²,    z_q = z_e + sg(e − z_e)

with ℓ the reconstruction loss (Bernoulli cross-entropy with soft targets by default, on
the decoder's logits), e the chosen code, sg the stop-gradient and β = 0.25. The
straight-through estimator passes the decoder's gradient at z_q to z_e unchanged. With
``ema=True`` the codebook follows moving averages of its assigned vectors instead of the
codebook loss (which is then left out).

The prior: log p(c) = Σ_ij log Categorical(c_ij | softmax(l_ij(c_<ij))), raster order,
computed by a small categorical PixelCNN on the one-hot code map (a type-A masked first
layer, the residual blocks of ``pixelcnn.py``, a 1×1 head to K logits).

Figures (``metrics``): per-pixel reconstruction MSE, code usage (fraction of the K codes
used on x) and perplexity exp(H(p̄)) of the average code distribution p̄ (K at best,
1 when one code takes everything); once the prior is fitted, its NLL per code map.

Paper: A. van den Oord, O. Vinyals, K. Kavukcuoglu (2017), "Neural Discrete Representation
Learning", NeurIPS.

Deviations: a small encoder/decoder for 8×8 digits (one stride-2 stage: a 4×4 code map)
with no residual stacks; the codebook starts on K encoder outputs of the first training
batch (data-dependent initialisation; codes drawn near the origin would leave most of
them unused); data in [0, 1] with a Bernoulli cross-entropy rather than a
Gaussian or 256-way likelihood; the prior is fitted by ``fit_prior`` (the trainer does
not call it). Until it is fitted, ``sample`` draws every code uniformly from the K codes —
the prior the VQ-VAE is trained under — which gives poor images: call ``fit_prior``
first. ``sample`` and ``reconstruct`` return the decoder's mean σ(logits).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_choice
from minigen.distributions import Categorical
from minigen.models.base import DiscreteCodes, Reconstructs, ReportsMetrics, SecondStage
from minigen.nn import Conv2d, ConvTranspose2d, Module, ReLU, Sequential
from minigen.nn.losses import RECONSTRUCTION_LOSSES
from minigen.nn.masked_conv import MaskedConv2d, PixelCNNResidualBlock
from minigen.nn.quantize import (
    EMAVectorQuantizer,
    VectorQuantizer,
    code_perplexity,
    code_usage,
    nearest_code,
)
from minigen.optim import Adam

EVAL_BATCH = 256


class CodePrior(Module):
    """Categorical PixelCNN over (h, w) maps of codes in {0, …, K−1}.

    One-hot codes (N, K, h, w) → type-A masked k×k conv (the code at (i, j) is not seen) →
    residual blocks with type-B masked convs (``pixelcnn.py``) → 1×1 convs to K logits per
    position, so l_ij depends on the codes before (i, j) in raster order only:

        log p(c) = Σ_ij [l_ij(c_<ij)]_{c_ij} − logsumexp_k [l_ij(c_<ij)]_k.

    All K one-hot channels belong to the one "colour" c_ij, so one mask serves them all.
    """

    def __init__(self, num_codes: int, *, rng: np.random.Generator, channels: int = 32,
                 num_blocks: int = 2, first_kernel: int = 3, kernel_size: int = 3) -> None:
        super().__init__()
        self.num_codes = int(num_codes)
        self.first = MaskedConv2d(self.num_codes, 2 * channels, first_kernel, "A", rng=rng)
        self.blocks = Sequential(*[PixelCNNResidualBlock(channels, kernel_size, rng=rng)
                                   for _ in range(num_blocks)])
        self.hidden = Conv2d(2 * channels, 2 * channels, 1, rng=rng)
        self.output = Conv2d(2 * channels, self.num_codes, 1, rng=rng)

    def logits(self, codes: Any) -> Tensor:
        """l_ij from c_<ij.  codes : (N, h, w) integers -> (N, h, w, K)."""
        codes = np.asarray(codes)
        dtype = self.output.weight.dtype
        one_hot = np.eye(self.num_codes, dtype=dtype)[codes].transpose(0, 3, 1, 2)
        h = self.blocks(self.first(Tensor(one_hot)))
        return self.output(ag.relu(self.hidden(ag.relu(h)))).permute(0, 2, 3, 1)

    def log_prob(self, codes: Any) -> Tensor:
        """log p(c) = Σ_ij log softmax(l_ij)[c_ij], (N,)."""
        return Categorical(self.logits(codes)).log_prob(np.asarray(codes)).sum(axis=(1, 2))

    def sample(self, n: int, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        """n code maps (n, h, w), drawn position by position in raster order."""
        codes = np.zeros((int(n), *shape), dtype=np.int64)
        with ag.no_grad():
            for i in range(shape[0]):
                for j in range(shape[1]):
                    logits = self.logits(codes).data[:, i, j]  # depends on c_<ij only
                    codes[:, i, j] = Categorical(logits).sample(rng)
        return codes


class VQVAE(Reconstructs, DiscreteCodes, SecondStage, ReportsMetrics):
    """VQ-VAE with a categorical PixelCNN prior over its code maps.

    Parameters
    ----------
    data_shape : (C, H, W), e.g. (1, 8, 8) for "digits" (values in [0, 1])
    rng : draws the initial weights and codebook
    num_embeddings : K, the number of codes
    embedding_dim : D, the length of each code vector
    hidden : channels of the encoder and decoder
    downsample : number of stride-2 stages; the code map is (H / 2^s, W / 2^s)
    beta : β, the weight of the commitment loss
    ema : update the codebook by moving averages (decay ``decay``) instead of by gradient
    loss : reconstruction loss "bce", "mse" or "mae" (see ``autoencoder.py``)
    prior_channels, prior_blocks : size of the PixelCNN prior (:class:`CodePrior`)
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        num_embeddings: int = 32,
        embedding_dim: int = 16,
        hidden: int = 32,
        downsample: int = 1,
        beta: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        loss: str = "bce",
        prior_channels: int = 32,
        prior_blocks: int = 2,
    ) -> None:
        super().__init__()
        check_choice("loss", loss, tuple(RECONSTRUCTION_LOSSES))
        self.reconstruction_loss = RECONSTRUCTION_LOSSES[loss]
        shape = tuple(int(s) for s in data_shape)
        factor = 2 ** int(downsample)
        if len(shape) != 3 or shape[1] % factor or shape[2] % factor:
            raise ValueError(f"VQVAE: data_shape must be (C, H, W) with H and W divisible by "
                             f"2^downsample = {factor}; got {data_shape!r}")
        self.data_shape = shape
        self.code_shape = (shape[1] // factor, shape[2] // factor)
        self.num_embeddings, self.beta, self.loss_kind = int(num_embeddings), float(beta), loss
        channels = shape[0]
        self.encoder = Sequential(
            Conv2d(channels, hidden, 3, padding=1, rng=rng), ReLU(),
            *[layer for _ in range(downsample)
              for layer in (Conv2d(hidden, hidden, 4, stride=2, padding=1, rng=rng), ReLU())],
            Conv2d(hidden, embedding_dim, 1, rng=rng))
        self.quantizer = (EMAVectorQuantizer(num_embeddings, embedding_dim, rng=rng, decay=decay)
                          if ema else VectorQuantizer(num_embeddings, embedding_dim, rng=rng))
        self.decoder = Sequential(
            Conv2d(embedding_dim, hidden, 3, padding=1, rng=rng), ReLU(),
            *[layer for _ in range(downsample)
              for layer in (ConvTranspose2d(hidden, hidden, 4, 2, 1, rng=rng), ReLU())],
            Conv2d(hidden, channels, 3, padding=1, rng=rng))
        self.register_buffer("codebook_initialised", np.array(False))
        self.prior = CodePrior(num_embeddings, rng=rng, channels=prior_channels,
                               num_blocks=prior_blocks)
        self.register_buffer("prior_fitted", np.array(False))

    @property
    def dtype(self) -> np.dtype:
        return self.encoder[0].weight.dtype

    def _images(self, x: Any) -> Tensor:
        x = np.asarray(x.data if isinstance(x, Tensor) else x)
        if x.ndim != 4 or x.shape[1:] != self.data_shape:
            raise ValueError(f"VQVAE: x must have shape (N, *{self.data_shape}); got {x.shape}")
        return Tensor(x.astype(self.dtype, copy=False))

    # ----- the autoencoder -------------------------------------------------------------
    def quantize(self, x: Any):
        """Encode and quantise.  x : (N, C, H, W) -> ``Quantized`` over (N, h, w, D) vectors."""
        z_e = self.encoder(self._images(x)).permute(0, 2, 3, 1)  # (N, h, w, D): D last
        return self.quantizer(z_e)

    def decode(self, z_q: Any) -> Tensor:
        """Logits of p(x | z_q).  z_q : (N, h, w, D) -> (N, C, H, W)."""
        return self.decoder(ag.as_tensor(z_q).permute(0, 3, 1, 2))

    def decode_codes(self, codes: Any) -> Tensor:
        """Logits for integer code maps.  codes : (N, h, w) -> (N, C, H, W)."""
        return self.decode(self.quantizer.lookup(codes))

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """Mean over the batch of ℓ(x, g(z_q)) + Σ_ij ‖sg(z_e) − e‖² + β Σ_ij ‖z_e − sg(e)‖².

        x : (N, C, H, W); ``rng`` is unused (the model is deterministic).
        """
        x = self._images(x)
        z_e = self.encoder(x).permute(0, 2, 3, 1)  # (N, h, w, D): D last
        out = self.quantizer(z_e)
        reconstruction = self.reconstruction_loss(self.decode(out.quantized), x)
        commitment = out.commitment_loss.sum(axis=(1, 2)).mean()  # Σ_ij ‖z_e − sg(e)‖²
        total = reconstruction + self.beta * commitment
        if self.quantizer.codebook_by_gradient:
            total = total + out.codebook_loss.sum(axis=(1, 2)).mean()  # Σ_ij ‖sg(z_e) − e‖²
        return total

    def before_step(self, x: Any, rng: np.random.Generator) -> None:
        """Before the first training step, start the codebook on that batch's encoder
        outputs (data-dependent initialisation: no code starts far from every z_e)."""
        if not self.codebook_initialised:
            with ag.no_grad():
                z_e = self.encoder(self._images(x)).permute(0, 2, 3, 1)
            self.quantizer.initialise_from(z_e.data, rng)  # codes start on encoder outputs
            self.codebook_initialised = np.array(True)

    def codes(self, x: Any) -> np.ndarray:
        """Code maps, without moving an EMA codebook.  x : (N, C, H, W) -> (N, h, w) int64."""
        pieces = []
        with ag.no_grad():
            for start in range(0, len(x), EVAL_BATCH):
                z_e = self.encoder(self._images(x[start:start + EVAL_BATCH]))
                pieces.append(nearest_code(z_e.data.transpose(0, 2, 3, 1),
                                           self.quantizer.codebook))
        return np.concatenate(pieces) if pieces else np.zeros((0, *self.code_shape), np.int64)

    def reconstruct(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        """σ(g(z_q(x))) : (N, C, H, W)."""
        with ag.no_grad():
            return ag.sigmoid(self.decode_codes(self.codes(x))).data

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Per-pixel reconstruction MSE, code usage and perplexity on x (and prior NLL)."""
        codes = self.codes(x)
        with ag.no_grad():
            squared = [np.sum((ag.sigmoid(self.decode_codes(codes[s:s + EVAL_BATCH])).data
                               - np.asarray(x[s:s + EVAL_BATCH])) ** 2)
                       for s in range(0, len(x), EVAL_BATCH)]
        figures = {"reconstruction_mse": float(np.sum(squared) / np.asarray(x).size),
                   "code_usage": code_usage(codes, self.num_embeddings),
                   "code_perplexity": code_perplexity(codes, self.num_embeddings)}
        if self.prior_fitted:
            figures["prior_nll"] = float(-self.prior_log_prob(codes).mean())
        return figures

    # ----- the prior over code maps ----------------------------------------------------
    def prior_log_prob(self, codes: Any) -> np.ndarray:
        """log p(c) under the PixelCNN prior, nats per code map.  codes : (N, h, w) -> (N,)."""
        codes = np.asarray(codes)
        with ag.no_grad():
            return np.concatenate([self.prior.log_prob(codes[s:s + EVAL_BATCH]).data
                                   for s in range(0, len(codes), EVAL_BATCH)]).astype(np.float64)

    def fit_prior(
        self, x: Any, rng: np.random.Generator, steps: int = 1000, batch_size: int = 64,
        lr: float = 3e-3,
    ) -> dict[str, float]:
        """Fit the PixelCNN prior to the code maps of x by maximum likelihood.

        The autoencoder is left as it is. x : (N, C, H, W). Returns the prior's NLL on x's
        code maps (nats per map) before and after, and that of the uniform prior, h·w·log K.
        """
        codes = self.codes(x)
        nll_before = float(-self.prior_log_prob(codes).mean())
        optimizer = Adam(self.prior.parameters(), lr=lr)
        for _ in range(int(steps)):
            batch = codes[rng.integers(0, len(codes), min(batch_size, len(codes)))]
            optimizer.zero_grad()
            (-self.prior.log_prob(batch).mean()).backward()  # −E log p(c)
            optimizer.step()
        self.prior.zero_grad()
        self.prior_fitted = np.array(True)
        uniform = float(np.prod(self.code_shape) * np.log(self.num_embeddings))
        return {"prior_nll_before": nll_before,
                "prior_nll": float(-self.prior_log_prob(codes).mean()),
                "uniform_nll": uniform}

    def sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n code maps (n, h, w): from the prior once fitted, else uniform over the K codes."""
        if self.prior_fitted:
            return self.prior.sample(n, self.code_shape, rng)
        return rng.integers(0, self.num_embeddings, (int(n), *self.code_shape))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """σ(g(e_c)) for n code maps c from ``sample_codes``: (n, C, H, W)."""
        codes = self.sample_codes(n, rng)
        with ag.no_grad():
            return ag.sigmoid(self.decode_codes(codes)).data
