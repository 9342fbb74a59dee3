"""Activation functions as Modules (torch.nn names), each a thin wrapper of autograd ops.

They hold no parameters, so they can sit inside :class:`~minigen.nn.Sequential`.
"""

from __future__ import annotations

from typing import Any

import autograd as ag
from autograd import Tensor

from .module import Module


class Identity(Module):
    """y = x (a placeholder that keeps a Sequential's indices stable)."""

    def forward(self, x: Any) -> Any:
        return x


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x: Any) -> Tensor:
        return ag.relu(x)


class LeakyReLU(Module):
    """y = x for x > 0, negative_slope · x otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return ag.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, x: Any) -> Tensor:
        return ag.tanh(x)


class Sigmoid(Module):
    """y = σ(x) = 1 / (1 + e^{−x})."""

    def forward(self, x: Any) -> Tensor:
        return ag.sigmoid(x)


class Softplus(Module):
    """y = log(1 + e^{βx}) / β, computed stably (finite at ±1e4)."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if beta <= 0:
            raise ValueError(f"Softplus: beta must be positive, got {beta}")
        self.beta = float(beta)

    def forward(self, x: Any) -> Tensor:
        if self.beta == 1.0:
            return ag.softplus(x)
        x = ag.as_tensor(x)
        return ag.softplus(x * self.beta) / self.beta

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class ELU(Module):
    """y = x for x > 0, α(e^x − 1) otherwise.

    The exponential only sees min(x, 0), so large positive inputs cannot overflow in the
    branch that ``where`` discards.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        negative_part = (ag.exp(x.clip(high=0)) - 1) * self.alpha  # α(e^x − 1)
        return ag.where(x.data > 0, x, negative_part)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SiLU(Module):
    """y = x · σ(x) (also called swish)."""

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        return x * ag.sigmoid(x)
