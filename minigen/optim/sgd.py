"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

The update is torch.optim.SGD's (dampening 0):

    g ← ∇θ + λθ                     (weight decay added to the gradient)
    b ← g on the first step, else μb + g
    g ← g + μb  (Nesterov)   or   g ← b
    θ ← θ − η g
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from autograd import Tensor

from .optimizer import Optimizer, _check_non_negative


class SGD(Optimizer):
    """SGD(params, lr, momentum=0.0, weight_decay=0.0, nesterov=False), as torch.optim.SGD."""

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        _check_non_negative("SGD", "momentum", momentum)
        _check_non_negative("SGD", "weight_decay", weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.nesterov = bool(nesterov)

    def _update(self, index: int, param: Tensor, grad: np.ndarray) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param.data  # g ← ∇θ + λθ
        if self.momentum:
            buffers = self.state.setdefault(index, {})
            if "momentum_buffer" not in buffers:
                buffers["momentum_buffer"] = np.array(grad, copy=True)  # b ← g first
            else:
                buffer = buffers["momentum_buffer"]
                buffer *= self.momentum  # b ← μb + g
                buffer += grad
            buffer = buffers["momentum_buffer"]
            grad = grad + self.momentum * buffer if self.nesterov else buffer
        param.data -= self.lr * grad  # θ ← θ − η g
