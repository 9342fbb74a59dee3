"""Gradient clipping by the global norm over all parameters, as torch's clip_grad_norm_."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from autograd import Tensor


def clip_grad_norm_(params: Iterable[Tensor], max_norm: float) -> float:
    """Scale every ``.grad`` in place so their joint L2 norm is at most ``max_norm``.

    ‖g‖ = √(Σ_p Σ_i g_{p,i}²) over the parameters that have a gradient; when it exceeds
    ``max_norm`` each gradient is multiplied by max_norm / (‖g‖ + 1e-6) (torch's factor).
    Returns ‖g‖ measured before clipping (0.0 when no parameter has a gradient).
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be > 0, got {max_norm!r}")
    grads = [p.grad for p in params if p.grad is not None]
    # Accumulate in float64 so many float32 squares do not lose precision.
    total = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads)))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total
