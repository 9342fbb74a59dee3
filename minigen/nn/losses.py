"""Losses on logits: the Bernoulli likelihood, and the GAN games in one table.

Every function here takes logits (a discriminator's raw output d(x), with D(x) = σ(d(x))
where the game is a probability) and never probabilities, so nothing is squashed twice
and every loss stays finite at logits of ±1e4 (log σ(l) = −softplus(−l)).

The GAN games (Goodfellow et al. 2014; Mao et al. 2017; Lim & Ye 2017; Arjovsky et al.
2017), discriminator loss to minimise | generator loss to minimise, r = d(x) on real data,
f = d(G(z)) on fakes:

================ ===================================== ==============================
game             discriminator                          generator
================ ===================================== ==============================
minimax          −E log D(x) − E log(1 − D(G(z)))       E log(1 − D(G(z))) = −E softplus(f)
non_saturating   the same                               −E log D(G(z)) = E softplus(−f)
least_squares    ½E(r − 1)² + ½E f²                     ½E(f − 1)²
hinge            E relu(1 − r) + E relu(1 + f)          −E f
wasserstein      E f − E r   (+ a gradient penalty)     −E f
================ ===================================== ==============================

The minimax generator loss saturates: when D(G(z)) → 0 its gradient σ(f) → 0, while the
non-saturating one's, σ(f) − 1, tends to −1 (a test checks it numerically).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor


def bernoulli_log_likelihood(x: Any, logits: Tensor) -> Tensor:
    """log Bernoulli(x | σ(l)) = x·l − softplus(l), elementwise and stable for any logit."""
    return ag.as_tensor(x) * logits - ag.softplus(logits)


def bce_with_logits(logits: Tensor, target: float | Any) -> Tensor:
    """Mean binary cross-entropy BCE(l, y) = softplus(l) − y·l = −log Bernoulli(y | σ(l))."""
    return (ag.softplus(logits) - logits * target).mean()


def _per_example_sum(per_pixel: Tensor) -> Tensor:
    """Σ over every non-batch axis, mean over the batch."""
    return per_pixel.reshape(per_pixel.shape[0], -1).sum(axis=1).mean()


def _target_like(logits: Tensor, x: Any, loss: str) -> Tensor:
    target = ag.as_tensor(np.asarray(x.data if isinstance(x, Tensor) else x, dtype=logits.dtype))
    if target.shape != logits.shape:
        raise ValueError(f"{loss}: x has shape {target.shape} but logits have shape "
                         f"{logits.shape}; they must match")
    return target


def bce_reconstruction(logits: Tensor, x: Any) -> Tensor:
    """Σ_d −[x_d log σ(l_d) + (1 − x_d) log(1 − σ(l_d))], mean over the batch (x in [0, 1])."""
    return _per_example_sum(-bernoulli_log_likelihood(_target_like(logits, x, "bce"), logits))


def mse_reconstruction(logits: Tensor, x: Any) -> Tensor:
    """Σ_d (σ(l_d) − x_d)², mean over the batch: squared error of the image x̂ = σ(l)."""
    return _per_example_sum((ag.sigmoid(logits) - _target_like(logits, x, "mse")) ** 2)


def mae_reconstruction(logits: Tensor, x: Any) -> Tensor:
    """Σ_d |σ(l_d) − x_d|, mean over the batch: absolute error of the image x̂ = σ(l)."""
    return _per_example_sum(ag.abs(ag.sigmoid(logits) - _target_like(logits, x, "mae")))


RECONSTRUCTION_LOSSES: dict[str, Callable[[Tensor, Any], Tensor]] = {
    "bce": bce_reconstruction, "mse": mse_reconstruction, "mae": mae_reconstruction}


def _mean_square(values: Tensor) -> Tensor:
    return (values * values).mean()


@dataclass(frozen=True)
class GANLoss:
    """One GAN game: ``discriminator(real_logits, fake_logits)`` and ``generator(fake_logits)``,
    both scalar Tensors to minimise."""

    name: str
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor], Tensor]


def _cross_entropy_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    # −E log D(x) − E log(1 − D(G(z))): real labelled 1, fake 0
    return bce_with_logits(real, 1.0) + bce_with_logits(fake, 0.0)


GAN_LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss(
        "minimax", _cross_entropy_discriminator,
        lambda fake: -bce_with_logits(fake, 0.0)),  # E log(1 − D(G(z))) = −E softplus(f)
    "non_saturating": GANLoss(
        "non_saturating", _cross_entropy_discriminator,
        lambda fake: bce_with_logits(fake, 1.0)),  # −E log D(G(z)) = E softplus(−f)
    "least_squares": GANLoss(
        "least_squares",
        lambda real, fake: 0.5 * _mean_square(real - 1.0) + 0.5 * _mean_square(fake),
        lambda fake: 0.5 * _mean_square(fake - 1.0)),
    "hinge": GANLoss(
        "hinge",
        lambda real, fake: ag.relu(1.0 - real).mean() + ag.relu(1.0 + fake).mean(),
        lambda fake: -fake.mean()),
    "wasserstein": GANLoss(
        "wasserstein",
        lambda real, fake: fake.mean() - real.mean(),  # the critic maximises E r − E f
        lambda fake: -fake.mean()),
}


def gan_loss(name: str) -> GANLoss:
    """The game called ``name`` (a key of :data:`GAN_LOSSES`)."""
    try:
        return GAN_LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown GAN loss {name!r}; valid: {', '.join(GAN_LOSSES)}") from None


def _input_gradient(critic: Callable[[Tensor], Tensor], points: Tensor) -> Tensor:
    """∇ₓ Σ_n d(x_n), one row per example, kept differentiable (create_graph)."""
    outputs = critic(points)
    gradient, = ag.grad(outputs.sum(), [points], create_graph=True)
    return gradient.reshape(points.shape[0], -1)


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Any,
    fake: Any,
    rng: np.random.Generator,
    center: float = 1.0,
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E_x̂[(‖∇d(x̂)‖₂ − center)²] at x̂ = εx + (1 − ε)x̃.

    real, fake : (N, ...) arrays or Tensors (the fakes are treated as constants here);
    ε ~ U(0, 1) per example from ``rng``. Differentiable in the critic's parameters, by
    double backward. Multiply by λ (10 in the paper) outside.
    """
    real_data = np.asarray(real.data if isinstance(real, Tensor) else real)
    fake_data = np.asarray(fake.data if isinstance(fake, Tensor) else fake)
    if real_data.shape != fake_data.shape:
        raise ValueError(f"gradient_penalty: real {real_data.shape} and fake "
                         f"{fake_data.shape} must have the same shape")
    shape = (len(real_data),) + (1,) * (real_data.ndim - 1)
    epsilon = rng.random(shape).astype(real_data.dtype)
    mixed = Tensor(epsilon * real_data + (1 - epsilon) * fake_data, requires_grad=True)
    gradient = _input_gradient(critic, mixed)
    norm = ag.sqrt((gradient * gradient).sum(axis=1) + 1e-12)  # ‖∇d(x̂)‖₂ (ε keeps √ smooth)
    return _mean_square(norm - center)


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Any) -> Tensor:
    """R1 (Mescheder et al. 2018): ½ E_x ‖∇d(x)‖² on real data. Multiply by γ outside."""
    real_data = np.asarray(real.data if isinstance(real, Tensor) else real)
    points = Tensor(real_data, requires_grad=True)
    gradient = _input_gradient(critic, points)
    return 0.5 * (gradient * gradient).sum(axis=1).mean()
