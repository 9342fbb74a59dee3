"""Fully visible sigmoid belief network (FVSBN) with an optional AR(k) window.

Idea: the chain rule p(x) = Π_i p(x_i | x_<i) with every conditional a logistic
regression on the pixels before it,

    p(x_i = 1 | x_<i) = σ(b_i + Σ_{max(0, i−k) ≤ j < i} W_ij x_j),

where the window k keeps only the k previous pixels: k = 1 is a Markov chain (AR(1)),
k = D − 1 (``window=None``) the full chain rule (AR(D−1)), each with its own weights.
Objective: the exact negative log-likelihood
    −log p(x) = −Σ_i [x_i l_i − softplus(l_i)],   l_i the logit above.

Paper: the sigmoid belief network with all units visible (Neal, 1992; Frey, 1998, "Graphical
models for machine learning and digital communication"). Parameters: D biases plus one
weight per allowed pair, D + Σ_{i=0}^{D−1} min(i, k) — 2D − 1 for k = 1, D(D+1)/2 for the
full chain rule.

Ordering: images (N, 1, H, W) are flattened row-major (raster order: left to right, top
to bottom), so pixel (r, c) is dimension r·W + c; vectors (N, D) are used as they are.
Binary data: x ∈ {0, 1}. ``log_prob``, ``loss``, ``sample`` and ``complete`` come from
:class:`minigen.models.autoregressive.base.AutoregressiveVectorModel`.

Implementation: one ``MaskedLinear(D, D)`` whose mask is the strictly lower band
i − k ≤ j < i. The masked-out entries of the weight matrix are constants (zero times
anything), so :meth:`num_parameters` counts only the free weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.distributions import Bernoulli
from minigen.models.autoregressive.base import AutoregressiveVectorModel
from minigen.nn.masked import MaskedLinear


def window_mask(num_dims: int, window: int) -> np.ndarray:
    """(D, D) mask M[i, j] = [i − k ≤ j < i]: pixel i sees its k predecessors."""
    rows, cols = np.indices((num_dims, num_dims))
    return ((cols < rows) & (cols >= rows - window)).astype(np.float32)


class FVSBN(AutoregressiveVectorModel):
    """Fully visible sigmoid belief network on D binary dimensions, AR(k) window.

    Parameters
    ----------
    data_shape : one example's shape, (1, H, W) or (D,)
    rng : draws the initial weights
    window : k, how many previous pixels each conditional sees (1 ≤ k); None or any
        k ≥ D − 1 is the full chain rule
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        window: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.set_data_shape(data_shape)
        if window is not None and (isinstance(window, bool) or int(window) != window
                                   or window < 1):
            raise ValueError(f"FVSBN: window must be None or an int >= 1, got {window!r}")
        self.window = max(self.num_dims - 1, 1) if window is None else int(window)
        self.linear = MaskedLinear(self.num_dims, self.num_dims, rng=rng, dtype=dtype)
        self.linear.set_mask(window_mask(self.num_dims, self.window))

    def num_parameters(self) -> int:
        """D biases + Σ_i min(i, k) weights (masked-out weights are not parameters)."""
        return self.num_dims + int(self.linear.mask.sum())

    def logits(self, x: Any) -> Tensor:
        """l_i = b_i + Σ_{i−k ≤ j < i} W_ij x_j.  x : (N, *data_shape) -> (N, D)."""
        return self.linear(self.flatten(x))

    def _log_prob_tensor(self, flat: Tensor) -> Tensor:
        # log p(x) = Σ_i log Bernoulli(x_i; σ(l_i)) = Σ_i [x_i l_i − softplus(l_i)]
        return Bernoulli(self.linear(flat)).log_prob(flat).sum(axis=1)

    def _fill(self, flat: np.ndarray, num_given: int, rng: np.random.Generator) -> np.ndarray:
        """Sample dims num_given..D−1 in order, each given all before it: O(D) per dim."""
        weight = self.linear.weight.data * self.linear.mask
        bias = self.linear.bias.data
        for i in range(num_given, self.num_dims):
            logit = bias[i] + flat @ weight[i]  # l_i = b_i + W_i· x (the mask keeps j < i)
            flat[:, i] = Bernoulli(logit).sample(rng)
        return flat
