"""Classifier guidance (Dhariwal & Nichol, 2021; Song et al., 2021 for the score view).

An unconditional DDPM ε_θ(x_t, t) and a classifier p_φ(y | x_t, t) trained on *noisy*
inputs (the same x_t and t as the denoiser sees). By Bayes, ∇ log p(x_t | y) =
∇ log p(x_t) + ∇ log p(y | x_t), and ε = −√(1 − ᾱ_t) ∇ log p(x_t), so the conditional
noise estimate, sharpened by a scale s, is (their Algorithm 2)

    ε̂(x_t, t) = ε_θ(x_t, t) − s √(1 − ᾱ_t) ∇_{x_t} log p_φ(y | x_t, t).

s = 0 is the unconditional model, s = 1 the Bayes-conditional one, s > 1 trades diversity
for class fidelity. Training minimises the sum of the two independent objectives,

    L = E ‖ε − ε_θ(x_t, t)‖² + E[−log p_φ(y | x_t, t)],

with one Adam (the parameter sets are disjoint, so each gradient reaches only its own
network). ε̂ is used by both samplers; Dhariwal & Nichol's Algorithm 1 instead shifts
the DDPM mean by s Σ ∇ log p_φ, which this form matches to first order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.distributions import Categorical

from .classifier_free_guidance import labels_for
from .ddpm import DDPM
from .denoisers import build_classifier
from .process import EpsFn


def classifier_guided_eps(eps: np.ndarray, grad_log_prob: np.ndarray, alpha_bar: float,
                          scale: float) -> np.ndarray:
    """ε̂ = ε − s √(1 − ᾱ_t) ∇_x log p(y | x_t)."""
    return eps - scale * np.sqrt(1 - alpha_bar) * grad_log_prob


class ClassifierGuidance(DDPM):
    """ClassifierGuidance(data_shape, *, rng, num_classes=10, guidance=1.0,
    classifier_width=16, **DDPM's hyper-parameters); ``conditions = ("y",)``."""

    sample_options = ("sampler", "steps", "eta", "guidance")

    conditions = ("y",)
    loss_unit = "eps-MSE + classifier cross-entropy (nats)"

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 num_classes: int = 10, guidance: float = 1.0, classifier_width: int = 16,
                 **hparams: Any) -> None:
        super().__init__(data_shape, rng=rng, **hparams)
        self.num_classes = int(num_classes)  # the denoiser stays unconditional
        self.guidance = float(guidance)
        self.classifier = build_classifier(self.data_shape, self.num_classes, rng,
                                           width=classifier_width, hidden=self.hidden)

    def classifier_log_prob(self, x_t: Any, t: np.ndarray, y: np.ndarray) -> Tensor:
        """log p_φ(y | x_t, t), (N,)."""
        return Categorical(self.classifier(x_t, t)).log_prob(np.asarray(y, dtype=np.int64))

    def loss(self, x: Any, rng: np.random.Generator, *, y: Any) -> Tensor:
        """ε-MSE of the denoiser + cross-entropy of the noisy classifier on the same x_t."""
        x_t, t, noise = self.noise_batch(x, rng)
        error = self.network(x_t, t) - noise
        labels = labels_for(len(x_t), y, self.num_classes)
        return (error * error).mean() - self.classifier_log_prob(x_t, t, labels).mean()

    def classifier_gradient(self, x_t: np.ndarray, t: int, y: np.ndarray) -> np.ndarray:
        """∇_{x_t} log p_φ(y | x_t, t) per example, like x_t (float64); recorded even when
        the caller sampled under ``no_grad``."""
        inputs = ag.Tensor(np.asarray(x_t, dtype=self.classifier_dtype()), requires_grad=True)
        with ag.enable_grad():
            log_prob = self.classifier_log_prob(inputs, np.full(len(x_t), t), y).sum()
            (gradient,) = ag.grad(log_prob, [inputs])
        return gradient.data.astype(np.float64)

    def classifier_dtype(self) -> np.dtype:
        return next(iter(self.classifier.parameters())).dtype

    def guided_eps_fn(self, y: np.ndarray, scale: float) -> EpsFn:
        unconditional = self.eps_fn()

        def eps(x_t: np.ndarray, t: int) -> np.ndarray:
            gradient = self.classifier_gradient(x_t, t, y) if scale else 0.0
            return classifier_guided_eps(unconditional(x_t, t), gradient,
                                         self.process.alpha_bar[t], scale)
        return eps

    def sample(self, n: int, rng: np.random.Generator, *, y: Any = None,
               guidance: float | None = None, sampler: str | None = None,
               steps: int | None = None, eta: float | None = None) -> np.ndarray:
        """n draws guided towards class ``y`` (int or (n,); default 0, 1, … cycling) with
        scale s = ``guidance`` (default the model's): (n, *data_shape)."""
        labels = labels_for(n, y, self.num_classes)
        scale = self.guidance if guidance is None else float(guidance)
        with self.ema.swapped_in():
            return self._draw(n, rng, self.guided_eps_fn(labels, scale), sampler, steps, eta)

    def nll_bound(self, x: Any, rng: np.random.Generator, *, y: Any = None) -> np.ndarray:
        """The unconditional denoiser's bound on −log p_θ(x) (``y`` is ignored: the
        classifier is not part of p_θ(x))."""
        return super().nll_bound(x, rng)

    def classify(self, x: Any, t: int = 1) -> np.ndarray:
        """argmax_y p_φ(y | x_t = x, t), (N,): the noisy classifier read at step t."""
        with ag.no_grad():
            logits = self.classifier(np.asarray(x, dtype=self.classifier_dtype()),
                                     np.full(len(x), t))
        return logits.data.argmax(axis=1)
