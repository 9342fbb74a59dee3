"""The sparse autoencoder: a code whose units are mostly off.

Instead of a narrow code, a sparse autoencoder may use many code units but pays for
activity, so each example is explained by a few of them (Ng, "Sparse autoencoder",
CS294A lecture notes, 2011; Lee, Ekanadham & Ng, 2008, for the target-rate penalty).
With sigmoid code units h_j ∈ (0, 1) and ρ̂_j = (1/N) Σ_n h_j(x_n) the mean activation
of unit j over the batch, the objective is

    "kl":  ℓ_rec + β Σ_j KL(ρ ‖ ρ̂_j),
           KL(ρ ‖ ρ̂) = ρ log(ρ/ρ̂) + (1−ρ) log((1−ρ)/(1−ρ̂))
    "l1":  ℓ_rec + λ (1/N) Σ_n Σ_j |h_j(x_n)|

where ℓ_rec is the :class:`Autoencoder`'s reconstruction loss and ρ (``sparsity_target``)
is the firing rate we want, e.g. 0.05. The KL term is zero exactly when every unit fires
at rate ρ, and grows without bound as a unit approaches always-on or always-off.

Deviation: ρ̂ is estimated on each minibatch rather than over the whole training set (as
in the lecture notes' batch gradient descent), and is clipped into [1e-6, 1 − 1e-6] so
that float32 saturation cannot produce log 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_choice

from .autoencoder import Autoencoder

PENALTIES = ("kl", "l1")
_RATE_FLOOR = 1e-6


def kl_sparsity_penalty(mean_activation: Tensor, target: float) -> Tensor:
    """Σ_j KL(ρ ‖ ρ̂_j) for mean activations ρ̂ : (d,) and target rate ρ ∈ (0, 1)."""
    if not 0 < target < 1:
        raise ValueError(f"kl_sparsity_penalty: target must be in (0, 1), got {target}")
    rate = ag.clip(mean_activation, _RATE_FLOOR, 1 - _RATE_FLOOR)
    # KL(ρ ‖ ρ̂) = ρ log(ρ/ρ̂) + (1−ρ) log((1−ρ)/(1−ρ̂))
    kl = target * (math.log(target) - ag.log(rate)) + (1 - target) * (
        math.log1p(-target) - ag.log(1 - rate))
    return kl.sum()


def l1_activation_penalty(code: Tensor) -> Tensor:
    """(1/N) Σ_n Σ_j |h_nj|.  code : (N, d) -> scalar."""
    return ag.abs(code).sum(axis=1).mean()


class SparseAutoencoder(Autoencoder):
    """An :class:`Autoencoder` with sigmoid code units and a sparsity penalty on them.

    Parameters
    ----------
    data_shape, rng : as :class:`Autoencoder`
    penalty : "kl" (target rate ρ, weight β) or "l1" (weight λ)
    sparsity_target : ρ, the wanted mean activation of each code unit ("kl")
    beta : β, the weight of Σ_j KL(ρ ‖ ρ̂_j) ("kl")
    l1_weight : λ, the weight of the mean Σ_j |h_j| ("l1")
    **autoencoder_hparams : ``hidden``, ``latent_dim``, ``loss`` of
        :class:`Autoencoder` (the code is always sigmoid)
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        penalty: str = "kl",
        sparsity_target: float = 0.05,
        beta: float = 0.3,
        l1_weight: float = 0.01,
        **autoencoder_hparams: Any,
    ) -> None:
        super().__init__(data_shape, rng=rng, code_activation="sigmoid", **autoencoder_hparams)
        check_choice("penalty", penalty, PENALTIES)
        if not 0 < sparsity_target < 1:
            raise ValueError(f"sparsity_target must be in (0, 1), got {sparsity_target}")
        if beta < 0 or l1_weight < 0:
            raise ValueError(f"beta and l1_weight must be >= 0, got {beta} and {l1_weight}")
        self.penalty, self.sparsity_target = penalty, float(sparsity_target)
        self.beta, self.l1_weight = float(beta), float(l1_weight)

    def sparsity_penalty(self, code: Tensor) -> Tensor:
        """The weighted penalty on a batch of codes : (N, d) -> scalar."""
        if self.penalty == "kl":
            rate = code.mean(axis=0)  # ρ̂_j = (1/N) Σ_n h_j(x_n)
            return self.beta * kl_sparsity_penalty(rate, self.sparsity_target)
        return self.l1_weight * l1_activation_penalty(code)

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """ℓ_rec + the sparsity penalty, both averaged over the batch."""
        code = self.code(x)
        reconstruction = self.reconstruction_loss(self.decode_logits(code), x)
        return reconstruction + self.sparsity_penalty(code)

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Reconstruction figures, the mean activation (sparsity) and the penalty."""
        figures = super().metrics(x, rng)
        with ag.no_grad():
            figures["sparsity_penalty"] = float(self.sparsity_penalty(self.code(x)).item())
        return figures

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, penalty={self.penalty!r}, "
                f"sparsity_target={self.sparsity_target}, beta={self.beta}, "
                f"l1_weight={self.l1_weight}")
