"""Vector quantisation with the straight-through estimator (van den Oord, Vinyals & Kavukcuoglu,
2017, "Neural Discrete Representation Learning").

A codebook of K vectors e_1 … e_K in R^D replaces every encoder output z_e (a vector in R^D)
by its nearest codebook vector:

    k* = argmin_k ‖z_e − e_k‖²,    z_q = e_{k*}.

The argmin is piecewise constant, so it passes no gradient. The decoder's gradient at z_q is
copied unchanged to z_e instead ("straight through"):

    z_q = z_e + sg(z_q − z_e)    (forward value z_q; ∂z_q/∂z_e = I; sg = stop-gradient)

The codebook, which then receives no gradient from the decoder, learns from its own term,
and a commitment term keeps the encoder's outputs near the codes they chose:

    codebook loss   ‖sg(z_e) − e_{k*}‖²        (moves the codes only)
    commitment loss ‖z_e − sg(e_{k*})‖²        (moves the encoder only; weighted by β)

Instead of the codebook loss, the codes can follow exponential moving averages of the
vectors assigned to them (the paper's appendix), with decay γ and n_k the number of vectors
assigned to code k in the batch:

    N_k ← γ N_k + (1 − γ) n_k,    m_k ← γ m_k + (1 − γ) Σ_{j: k_j = k} z_j,
    Ñ_k = (N_k + ε) / (Σ_i N_i + K ε) · Σ_i N_i     (Laplace smoothing: no division by 0)
    e_k = m_k / Ñ_k.

``VectorQuantizer.initialise_from`` sets the codes to vectors of a batch (a common
data-dependent start that keeps codes from going unused).

Deviation: the averages start at N_k = 1 and m_k = e_k (the initial code), not at zero with
a bias correction, so a code that no vector chooses stays (up to the smoothing) where it is.

How well the codebook is used: ``code_usage`` (fraction of the K codes chosen at least
once) and ``code_perplexity`` = exp(H(p̄)), p̄ the average assignment distribution — K when
every code is used equally often, 1 when one code takes everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_rng

from .module import Module, Parameter


def nearest_code(z: Any, codebook: Any) -> np.ndarray:
    """argmin_k ‖z − e_k‖² for every vector.  z : (..., D), codebook : (K, D) -> (...) int64.

    Ties go to the lowest index (as np.argmin).
    """
    z = np.asarray(z.data if isinstance(z, Tensor) else z)
    codebook = np.asarray(codebook.data if isinstance(codebook, Tensor) else codebook)
    if codebook.ndim != 2 or z.ndim < 1 or z.shape[-1] != codebook.shape[1]:
        raise ValueError(f"nearest_code: z must be (..., D) and codebook (K, D) with the same D; "
                         f"got z {z.shape} and codebook {codebook.shape}")
    flat = z.reshape(-1, z.shape[-1])
    # ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖²; ‖z‖² is the same for every k, so it is left out
    scores = (codebook**2).sum(axis=1)[None, :] - 2 * flat @ codebook.T
    return scores.argmin(axis=1).reshape(z.shape[:-1]).astype(np.int64)


def straight_through(z_e: Tensor, z_q: Any) -> Tensor:
    """z_e + sg(z_q − z_e): the value of z_q with the gradient of the identity to z_e."""
    z_q = np.asarray(z_q.data if isinstance(z_q, Tensor) else z_q)
    if z_q.shape != z_e.shape:
        raise ValueError(f"straight_through: z_e has shape {z_e.shape} but z_q has shape "
                         f"{z_q.shape}; they must match")
    return z_e + Tensor((z_q - z_e.data).astype(z_e.dtype, copy=False))


def code_counts(indices: Any, num_codes: int) -> np.ndarray:
    """How often each of the K codes appears in ``indices`` (any shape): (K,) int64."""
    indices = np.asarray(indices).ravel()
    if indices.size and (indices.min() < 0 or indices.max() >= num_codes):
        raise ValueError(f"code indices must lie in [0, {num_codes}); got values from "
                         f"{indices.min()} to {indices.max()}")
    return np.bincount(indices, minlength=num_codes).astype(np.int64)


def code_usage(indices: Any, num_codes: int) -> float:
    """Fraction of the K codes that appear at least once in ``indices``."""
    return float(np.mean(code_counts(indices, num_codes) > 0))


def code_perplexity(indices: Any, num_codes: int) -> float:
    """exp(−Σ_k p̄_k log p̄_k), p̄_k the fraction of ``indices`` equal to k; in [1, K]."""
    counts = code_counts(indices, num_codes).astype(np.float64)
    if counts.sum() == 0:
        raise ValueError("code_perplexity: indices is empty")
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-(p * np.log(p)).sum()))  # exp(H(p̄))


def ema_codebook_update(
    cluster_size: np.ndarray,
    embed_sum: np.ndarray,
    z: np.ndarray,
    indices: np.ndarray,
    decay: float,
    eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One EMA step of the codebook; returns new (N, m, codebook) (see the module docstring).

    cluster_size : (K,) N;  embed_sum : (K, D) m;  z : (M, D) vectors;  indices : (M,) codes.
    """
    num_codes = len(cluster_size)
    one_hot = np.zeros((len(z), num_codes), dtype=embed_sum.dtype)
    one_hot[np.arange(len(z)), indices] = 1
    cluster_size = decay * cluster_size + (1 - decay) * one_hot.sum(axis=0)  # N_k ← γN_k + (1−γ)n_k
    embed_sum = decay * embed_sum + (1 - decay) * one_hot.T @ z  # m_k ← γm_k + (1−γ)Σ z_j
    total = cluster_size.sum()
    smoothed = (cluster_size + eps) / (total + num_codes * eps) * total  # Ñ_k
    return cluster_size, embed_sum, embed_sum / smoothed[:, None]  # e_k = m_k / Ñ_k


@dataclass
class Quantized:
    """What :class:`VectorQuantizer` returns for inputs z_e : (..., D).

    quantized : (..., D) z_q with the straight-through gradient to z_e
    indices : (...) int64 chosen codes k*
    codebook_loss : (...) ‖sg(z_e) − e_{k*}‖² per vector (gradient to the codebook only)
    commitment_loss : (...) ‖z_e − sg(e_{k*})‖² per vector (gradient to z_e only)
    """

    quantized: Tensor
    indices: np.ndarray
    codebook_loss: Tensor
    commitment_loss: Tensor


class VectorQuantizer(Module):
    """Nearest-neighbour quantisation of the last axis against a codebook of K vectors,
    the codebook learned by gradient (its codebook loss ‖sg(z_e) − e‖²).

    Parameters
    ----------
    num_embeddings : K, the number of codes
    embedding_dim : D, the length of each code
    rng : draws the initial codebook, U(−1/K, 1/K) per entry

    ``weight : (K, D)`` is a Parameter. :class:`EMAVectorQuantizer` moves the codebook by
    moving averages instead.
    """

    codebook_by_gradient = True  # the owner adds codebook_loss to its objective

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        check_rng("VectorQuantizer", rng)
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"VectorQuantizer: num_embeddings and embedding_dim must be >= 1, "
                             f"got {num_embeddings}, {embedding_dim}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        bound = 1.0 / self.num_embeddings
        codebook = rng.uniform(-bound, bound, (self.num_embeddings, self.embedding_dim))
        self._set_up_codebook(codebook.astype(dtype))

    def _set_up_codebook(self, codebook: np.ndarray) -> None:
        self.weight = Parameter(codebook)

    @property
    def codebook(self) -> np.ndarray:
        """The K codes as an array (K, D)."""
        return np.asarray(self.weight.data if isinstance(self.weight, Tensor) else self.weight)

    def initialise_from(self, z: Any, rng: np.random.Generator) -> None:
        """Set the codebook to K of the vectors z : (M, D), drawn without replacement when
        M ≥ K (data-dependent initialisation: every code starts where some data is)."""
        z = np.asarray(z.data if isinstance(z, Tensor) else z).reshape(-1, self.embedding_dim)
        chosen = rng.choice(len(z), self.num_embeddings, replace=len(z) < self.num_embeddings)
        self._set_codebook(z[chosen].astype(self.codebook.dtype))

    def _set_codebook(self, codebook: np.ndarray) -> None:
        self.weight.data = codebook

    def lookup(self, indices: Any) -> Tensor:
        """e_k for integer codes: (...) -> (..., D), recorded (the codebook is a Parameter)."""
        return self.weight[np.asarray(indices)]

    def _after_lookup(self, z_e: Tensor, indices: np.ndarray) -> None:
        """Nothing: a gradient codebook moves with the optimiser."""

    def forward(self, z_e: Any) -> Quantized:
        """Quantise z_e : (..., D)."""
        z_e = ag.as_tensor(z_e)
        if z_e.ndim < 1 or z_e.shape[-1] != self.embedding_dim:
            raise ValueError(f"{type(self).__name__}: z_e must be (..., {self.embedding_dim}), "
                             f"got shape {z_e.shape}")
        indices = nearest_code(z_e.data, self.codebook)  # k* = argmin_k ‖z_e − e_k‖²
        codes = self.lookup(indices)
        self._after_lookup(z_e, indices)  # after the lookup: this batch sees the old codes
        codebook_loss = ((Tensor(z_e.data) - codes) ** 2).sum(axis=-1)  # ‖sg(z_e) − e‖²
        commitment_loss = ((z_e - Tensor(codes.data)) ** 2).sum(axis=-1)  # ‖z_e − sg(e)‖²
        quantized = straight_through(z_e, codes)  # z_e + sg(z_q − z_e)
        return Quantized(quantized, indices, codebook_loss, commitment_loss)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class EMAVectorQuantizer(VectorQuantizer):
    """The VQ-VAE-2 / appendix variant: the codebook follows exponential moving averages of
    the vectors assigned to each code (see the module docstring), in training mode only.

    decay : γ of the moving averages;  eps : ε of the Laplace smoothing. ``weight : (K, D)``
    is a buffer that ``forward`` updates in training mode (``module.train()``).
    """

    codebook_by_gradient = False

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        rng: np.random.Generator,
        decay: float = 0.99,
        eps: float = 1e-5,
        dtype: Any = np.float32,
    ) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"EMAVectorQuantizer: decay must be in [0, 1), got {decay}")
        super().__init__(num_embeddings, embedding_dim, rng=rng, dtype=dtype)
        self.decay, self.eps = float(decay), float(eps)

    def _set_up_codebook(self, codebook: np.ndarray) -> None:
        self.register_buffer("weight", codebook)
        self.register_buffer("cluster_size", np.ones(len(codebook), dtype=codebook.dtype))
        self.register_buffer("embed_sum", codebook.copy())

    def _set_codebook(self, codebook: np.ndarray) -> None:
        self.weight, self.embed_sum = codebook, codebook * self.cluster_size[:, None]

    def lookup(self, indices: Any) -> Tensor:
        """e_k for integer codes: (...) -> (..., D), constants (no gradient reaches a buffer)."""
        return Tensor(self.codebook[np.asarray(indices)])

    def _after_lookup(self, z_e: Tensor, indices: np.ndarray) -> None:
        if self.training:
            flat = z_e.data.reshape(-1, self.embedding_dim)
            self.cluster_size, self.embed_sum, self.weight = (
                array.astype(self.codebook.dtype) for array in ema_codebook_update(
                    self.cluster_size, self.embed_sum, flat, indices.ravel(), self.decay,
                    self.eps))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, decay={self.decay}"
