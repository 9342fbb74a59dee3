"""Finite-difference checks of gradients, first and second order, in float64.

For a function f of several Tensors we project its output on a fixed random direction r,
s(x) = ⟨f(x), r⟩, and compare autograd's ∂s/∂x_k with the central difference
(s(x + ε e_k) − s(x − ε e_k)) / 2ε for every entry k of every input.

Second order applies the same check to x ↦ ⟨∂s/∂x, r₂⟩, whose gradient autograd computes
by differentiating its own (recorded) VJPs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .engine import Tensor, enable_grad, grad


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences."""


def _projected(
    fn: Callable[..., Tensor], inputs: Sequence[Tensor], rng: np.random.Generator
) -> Callable[..., Tensor]:
    probe = fn(*inputs)
    if not isinstance(probe, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(probe).__name__}")
    direction = rng.standard_normal(probe.shape)

    def scalar(*xs: Tensor) -> Tensor:
        return (fn(*xs) * direction).sum()

    return scalar


def _check_first_order(
    scalar: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float,
    atol: float,
    rtol: float,
    order_label: str,
) -> None:
    with enable_grad():
        value = scalar(*inputs)
        if value.requires_grad:
            analytic = grad(value, list(inputs), allow_unused=True)
        else:  # e.g. the gradient of a linear map is constant: its derivative is zero
            analytic = [Tensor(np.zeros_like(t.data)) for t in inputs]
    for position, (tensor, grad_tensor) in enumerate(zip(inputs, analytic)):
        data = tensor.data
        flat = data.reshape(-1)
        for k in range(flat.size):
            saved = flat[k]
            flat[k] = saved + eps
            upper = scalar(*inputs).item()
            flat[k] = saved - eps
            lower = scalar(*inputs).item()
            flat[k] = saved
            numeric = (upper - lower) / (2 * eps)
            exact = grad_tensor.data.reshape(-1)[k]
            if not abs(exact - numeric) <= atol + rtol * abs(numeric):
                index = np.unravel_index(k, data.shape)
                raise GradcheckError(
                    f"gradcheck ({order_label}) failed for input {position} "
                    f"(shape {data.shape}) at index {tuple(int(i) for i in index)}: "
                    f"analytic {exact:.10g}, numeric {numeric:.10g}"
                )


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    order: int = 1,
    seed: int = 0,
) -> bool:
    """Check autograd's gradients of ``fn(*inputs)`` against central differences.

    Parameters
    ----------
    fn : callable
        Maps the input Tensors to a Tensor of any shape.
    inputs : sequence of Tensor
        float64 Tensors with ``requires_grad=True`` (they are perturbed in place and
        restored).
    order : 1 or 2
        2 also checks the gradient of the gradient.

    Returns True, or raises :class:`GradcheckError` naming the input, the index and both
    values.
    """
    inputs = list(inputs)
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise ValueError(f"gradcheck: input {position} must be a Tensor with "
                             "requires_grad=True")
        if tensor.dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {position} is {tensor.dtype}; finite differences need "
                "float64 (use Tensor(x, dtype=np.float64, requires_grad=True))"
            )
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order}")
    rng = np.random.default_rng(seed)
    scalar = _projected(fn, inputs, rng)
    _check_first_order(scalar, inputs, eps, atol, rtol, "first order")
    if order == 2:
        directions = [rng.standard_normal(t.shape) for t in inputs]

        def gradient_projection(*xs: Tensor) -> Tensor:
            grads = grad(scalar(*xs), list(xs), create_graph=True, allow_unused=True)
            total = Tensor(np.zeros(()))
            for g, d in zip(grads, directions):
                total = total + (g * d).sum()
            return total

        _check_first_order(gradient_projection, inputs, eps, atol, rtol, "second order")
    return True
