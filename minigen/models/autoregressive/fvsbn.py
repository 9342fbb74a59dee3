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
Binary data: x ∈ {0, 1}.

Implementation: one ``MaskedLinear(D, D)`` whose mask is the strictly lower band
i − k ≤ j < i. The masked-out entries of the weight matrix are constants (zero times
anything), so :meth:`num_parameters` counts only the free weights.

This module also holds the helpers the vector autoregressive models share
(:func:`flatten_examples`, :func:`given_prefix`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.distributions import Bernoulli
from minigen.nn.masked import MaskedLinear
from minigen.nn.module import Module


def flatten_examples(x: Any, data_shape: tuple[int, ...], model: str, dtype: Any) -> Tensor:
    """(N, *data_shape) ndarray or Tensor -> (N, D) Tensor in raster order.

    An ndarray is converted to ``dtype``; a Tensor keeps its dtype and its graph (so the
    Jacobian of a model's logits with respect to its input can be taken through autograd).
    """
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=dtype))
    if x.shape[1:] != tuple(data_shape):
        raise ValueError(
            f"{model}: x has shape {x.shape}, expected (N, {', '.join(map(str, data_shape))})"
        )
    return x.reshape(x.shape[0], int(np.prod(data_shape)))


def given_prefix(
    x_top: Any, data_shape: tuple[int, ...], model: str, dtype: Any
) -> tuple[np.ndarray, int]:
    """The context of ``complete``: (N, D) array whose first ``num_given`` dims are given.

    For (1, H, W) images the given part is the top ⌊H/2⌋ rows (the first ⌊H/2⌋·W dims in
    raster order); x_top may be (N, 1, ⌊H/2⌋, W) or whole images whose lower half is
    ignored. For (D,) vectors it is the first ⌊D/2⌋ dims; x_top is (N, ⌊D/2⌋) or (N, D).
    The rest of the returned array is zero, to be sampled.
    """
    top = np.asarray(x_top.data if isinstance(x_top, Tensor) else x_top, dtype=dtype)
    num_dims = int(np.prod(data_shape))
    if len(data_shape) == 3 and data_shape[0] == 1:
        _, height, width = data_shape
        half_shapes = [(1, height // 2, width), tuple(data_shape)]
        num_given = (height // 2) * width
    else:
        half_shapes = [(num_dims // 2,), tuple(data_shape)]
        num_given = num_dims // 2
    if top.ndim < 1 or top.shape[1:] not in half_shapes:
        expected = " or ".join(f"(N, {', '.join(map(str, shape))})" for shape in half_shapes)
        raise ValueError(f"{model}.complete: x_top has shape {top.shape}, expected {expected}")
    flat = np.zeros((len(top), num_dims), dtype=dtype)
    flat[:, :num_given] = top.reshape(len(top), -1)[:, :num_given]
    return flat, num_given


def check_num_samples(n: Any, model: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{model}.sample: n must be a non-negative int, got {n!r}")
    return int(n)


def window_mask(num_dims: int, window: int) -> np.ndarray:
    """(D, D) mask M[i, j] = [i − k ≤ j < i]: pixel i sees its k predecessors."""
    rows, cols = np.indices((num_dims, num_dims))
    return ((cols < rows) & (cols >= rows - window)).astype(np.float32)


class FVSBN(Module):
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
        self.data_shape = tuple(data_shape)
        self.num_dims = int(np.prod(self.data_shape))
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
        return self.linear(flatten_examples(x, self.data_shape, "FVSBN", self.linear.weight.dtype))

    def _log_prob_tensor(self, x: Any) -> Tensor:
        target = flatten_examples(x, self.data_shape, "FVSBN", self.linear.weight.dtype)
        logits = self.linear(target)
        # log p(x) = Σ_i log Bernoulli(x_i; σ(l_i)) = Σ_i [x_i l_i − softplus(l_i)]
        return Bernoulli(logits).log_prob(target).sum(axis=1)

    def log_prob(self, x: Any) -> np.ndarray:
        """Exact log p(x) in nats.  x : (N, *data_shape) -> (N,)."""
        with ag.no_grad():
            return self._log_prob_tensor(x).data

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """Mean negative log-likelihood in nats (``rng`` unused: the loss is exact)."""
        return -self._log_prob_tensor(x).mean()

    def _fill(self, flat: np.ndarray, start: int, rng: np.random.Generator) -> np.ndarray:
        """Sample dimensions start..D−1 in order, each given all before it."""
        weight = self.linear.weight.data * self.linear.mask
        bias = self.linear.bias.data
        for i in range(start, self.num_dims):
            logit = bias[i] + flat @ weight[i]  # l_i = b_i + W_i· x (the mask keeps j < i)
            flat[:, i] = Bernoulli(logit).sample(rng)
        return flat.reshape(len(flat), *self.data_shape)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n samples (n, *data_shape) in {0, 1}, drawn dimension by dimension."""
        n = check_num_samples(n, "FVSBN")
        return self._fill(np.zeros((n, self.num_dims), self.linear.weight.dtype), 0, rng)

    def complete(self, x_top: Any, rng: np.random.Generator) -> np.ndarray:
        """Keep the upper half of each image (first half of a vector), sample the rest.

        x_top : (N, 1, ⌊H/2⌋, W) or (N, 1, H, W) (lower half ignored); (N, ⌊D/2⌋) or (N, D)
        """
        flat, num_given = given_prefix(x_top, self.data_shape, "FVSBN", self.linear.weight.dtype)
        return self._fill(flat, num_given, rng)
