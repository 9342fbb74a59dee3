"""Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019), as torch.optim.

With t the number of updates of this parameter:

    g ← ∇θ + λθ                    (Adam: L2 weight decay enters the gradient)
    m ← β₁m + (1 − β₁)g            v ← β₂v + (1 − β₂)g²
    θ ← θ − η · (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε)

AdamW instead decays the weights directly, θ ← θ(1 − ηλ), before the same update with
the raw gradient.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from autograd import Tensor

from .optimizer import Optimizer, _check_non_negative


class Adam(Optimizer):
    """Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)."""

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        name = type(self).__name__
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")
        _check_non_negative(name, "eps", eps)
        _check_non_negative(name, "weight_decay", weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _decay(self, param: Tensor, grad: np.ndarray) -> np.ndarray:
        if self.weight_decay:
            return grad + self.weight_decay * param.data  # g ← ∇θ + λθ
        return grad

    def _update(self, index: int, param: Tensor, grad: np.ndarray) -> None:
        grad = self._decay(param, grad)
        beta1, beta2 = self.betas
        buffers = self.state.setdefault(index, {})
        if "exp_avg" not in buffers:
            buffers["step"] = np.asarray(0, dtype=np.int64)
            buffers["exp_avg"] = np.zeros_like(param.data)
            buffers["exp_avg_sq"] = np.zeros_like(param.data)
        step = int(buffers["step"]) + 1
        buffers["step"] = np.asarray(step, dtype=np.int64)
        exp_avg, exp_avg_sq = buffers["exp_avg"], buffers["exp_avg_sq"]
        exp_avg *= beta1  # m ← β₁m + (1 − β₁)g
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2  # v ← β₂v + (1 − β₂)g²
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        # θ ← θ − η (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε)
        denominator = np.sqrt(exp_avg_sq) / math.sqrt(bias_correction2) + self.eps
        param.data -= (self.lr / bias_correction1) * (exp_avg / denominator)


class AdamW(Adam):
    """AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)."""

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _decay(self, param: Tensor, grad: np.ndarray) -> np.ndarray:
        if self.weight_decay:
            param.data *= 1 - self.lr * self.weight_decay  # θ ← θ(1 − ηλ), decoupled
        return grad
