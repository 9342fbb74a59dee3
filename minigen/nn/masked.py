"""Masked affine layers and the MADE mask construction (Germain et al., 2015).

An autoregressive network may let output i depend only on inputs that come before i in
an ordering. MADE enforces that on a plain MLP by multiplying every weight matrix with a
binary mask built from *degrees*:

* every input gets its position in the ordering, m⁰(d) ∈ {1, …, D};
* every hidden unit k of layer l gets a degree m^l(k) drawn uniformly from
  {min_k' m^{l−1}(k'), …, D − 1}: the largest input position it may see;
* a hidden weight is kept when M^l[k, k'] = [m^l(k) ≥ m^{l−1}(k')];
* an output weight is kept when M^{L+1}[d, k] = [m⁰(d) > m^L(k)]  (strict: no x_d → x̂_d).

Every path from input j to output i then climbs through degrees m⁰(j) ≤ … < m⁰(i), so
output i sees only the inputs before it. Masks are laid out as the weight, (out, in).

:class:`AutoregressiveVectorModel` is the base the vector models (FVSBN, NADE, RNADE,
MADE) share: input checks, the exact log-likelihood, loss, sampling and completion, in
terms of two methods each model defines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .layers import Linear
from .module import Module


class MaskedLinear(Linear):
    """y = x (W ⊙ M)ᵀ + b: a Linear layer whose weight is multiplied by a fixed 0/1 mask.

    x : (..., in_features) -> (..., out_features); weight and mask (out, in).
    The mask is a buffer (saved in ``state_dict``, never trained); it starts all ones and
    is replaced with :meth:`set_mask`. Masked weights receive exactly zero gradient.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(in_features, out_features, bias, rng=rng, dtype=dtype)
        self.register_buffer("mask", np.ones((out_features, in_features), dtype=dtype))

    def set_mask(self, mask: Any) -> None:
        """Replace the mask; ``mask`` : (out_features, in_features) of zeros and ones."""
        mask = np.asarray(mask)
        if mask.shape != self.weight.shape:
            raise ValueError(
                f"MaskedLinear({self.in_features}, {self.out_features}).set_mask: mask has "
                f"shape {mask.shape}, expected (out_features, in_features) = "
                f"{self.weight.shape}"
            )
        if not np.all((mask == 0) | (mask == 1)):
            raise ValueError("MaskedLinear.set_mask: mask must hold only zeros and ones")
        self.mask = mask.astype(self.weight.dtype)

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"MaskedLinear({self.in_features}, {self.out_features}): input has last "
                f"dimension {x.shape[-1]} (shape {x.shape}), expected {self.in_features}"
            )
        out = x @ (self.weight * self.mask.astype(self.weight.dtype, copy=False)).T
        return out + self.bias if self.bias is not None else out


def ordering_degrees(num_inputs: int, ordering: str, rng: np.random.Generator) -> np.ndarray:
    """Input degrees m⁰: the position (1-based) of every input in the ordering.

    ``ordering`` is "natural" (m⁰(d) = d + 1) or "random" (a permutation drawn from rng).
    Returns (num_inputs,) int64.
    """
    if ordering == "natural":
        return np.arange(1, num_inputs + 1)
    if ordering == "random":
        return rng.permutation(num_inputs) + 1
    raise ValueError(f"ordering must be 'natural' or 'random'; got {ordering!r}")


def hidden_degrees(
    input_degrees: np.ndarray, hidden_sizes: Sequence[int], rng: np.random.Generator
) -> list[np.ndarray]:
    """Degrees of the hidden units, layer by layer, as MADE samples them.

    m^l(k) ~ Uniform{min_k' m^{l−1}(k'), …, D − 1}; starting at the previous layer's
    minimum means no unit is left without any input. (When D = 1 there is no admissible
    degree below D; the units then get degree 1 and no output connects to them.)
    """
    num_inputs = len(input_degrees)
    degrees, previous = [], np.asarray(input_degrees)
    for size in hidden_sizes:
        low = int(previous.min())
        high = max(num_inputs - 1, low)
        previous = rng.integers(low, high + 1, size=size)
        degrees.append(previous)
    return degrees


def degree_mask(in_degrees: np.ndarray, out_degrees: np.ndarray, strict: bool) -> np.ndarray:
    """(len(out), len(in)) mask: [m_out ≥ m_in], or [m_out > m_in] when ``strict``."""
    out_column, in_row = np.asarray(out_degrees)[:, None], np.asarray(in_degrees)[None, :]
    return (out_column > in_row if strict else out_column >= in_row).astype(np.float32)


def made_masks(
    input_degrees: np.ndarray,
    hidden: Sequence[np.ndarray],
    output_degrees: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Masks of every layer of a MADE, input to output, each laid out (out, in).

    Parameters
    ----------
    input_degrees : (D,) positions of the inputs in the ordering, 1..D
    hidden : degrees of each hidden layer (from :func:`hidden_degrees`)
    output_degrees : (D_out,) degree of each output; defaults to ``input_degrees`` (one
        output per input). Repeat them (``np.tile``) for several parameters per input.
    """
    output_degrees = input_degrees if output_degrees is None else output_degrees
    layer_degrees = [np.asarray(input_degrees), *hidden]
    masks = [degree_mask(a, b, strict=False) for a, b in zip(layer_degrees, layer_degrees[1:])]
    masks.append(degree_mask(layer_degrees[-1], output_degrees, strict=True))
    return masks


class AutoregressiveVectorModel(Module):
    """Base of the models p(x) = Π_i p(x_i | x_<i) over D = prod(data_shape) dims.

    Images (N, 1, H, W) are flattened row-major (raster order: pixel (r, c) is dimension
    r·W + c); vectors (N, D) are used as they are. A subclass sets ``data_shape`` and
    ``num_dims`` (:meth:`set_data_shape`) and defines

    * ``_log_prob_tensor(flat)`` : (N, D) Tensor -> (N,) exact log p(x), differentiable;
    * ``_fill(flat, num_given, rng)`` : sample dims num_given..D−1 of the (N, D) array in
      place, in order, each given the dims before it; return the array.

    The rest follows: ``log_prob``, ``loss``, ``sample`` and ``complete``.
    """

    data_shape: tuple[int, ...]
    num_dims: int

    def set_data_shape(self, data_shape: Any) -> None:
        """Record one example's shape and D, the number of dims it flattens to."""
        shape = tuple(int(size) for size in data_shape)
        if not shape or min(shape) < 1:
            raise ValueError(f"{type(self).__name__}: data_shape must be a non-empty tuple of "
                             f"positive ints, e.g. (1, 8, 8) or (2,); got {data_shape!r}")
        self.data_shape, self.num_dims = shape, int(np.prod(shape))

    @property
    def dtype(self) -> np.dtype:
        return self.parameters()[0].dtype

    def flatten(self, x: Any) -> Tensor:
        """(N, *data_shape) ndarray or Tensor -> (N, D) Tensor in raster order.

        An ndarray is converted to the model's dtype; a Tensor keeps its dtype and its
        graph (so the Jacobian of the logits with respect to the input can be taken).
        """
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.dtype))
        if x.shape[1:] != self.data_shape:
            raise ValueError(
                f"{type(self).__name__}: x has shape {x.shape}, expected "
                f"(N, {', '.join(map(str, self.data_shape))})"
            )
        return x.reshape(x.shape[0], self.num_dims)

    def _log_prob_tensor(self, flat: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define _log_prob_tensor()")

    def _fill(self, flat: np.ndarray, num_given: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define _fill()")

    def log_prob(self, x: Any) -> np.ndarray:
        """Exact log p(x) in nats.  x : (N, *data_shape) -> (N,)."""
        with ag.no_grad():
            return self._log_prob_tensor(self.flatten(x)).data

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """Mean negative log-likelihood in nats (``rng`` unused: the loss is exact)."""
        return -self._log_prob_tensor(self.flatten(x)).mean()

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n samples (n, *data_shape), drawn dimension by dimension."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{type(self).__name__}.sample: n must be an int >= 0, got {n!r}")
        flat = self._fill(np.zeros((int(n), self.num_dims), self.dtype), 0, rng)
        return flat.reshape(int(n), *self.data_shape)

    def complete(self, x_top: Any, rng: np.random.Generator) -> np.ndarray:
        """Keep the upper half of each example and sample the rest from p(rest | given).

        x_top : (N, 1, ⌊H/2⌋, W) or (N, 1, H, W) images (lower half ignored), given the
        top ⌊H/2⌋ rows; or (N, ⌊D/2⌋) or (N, D) vectors, given the first ⌊D/2⌋ dims.
        Returns (N, *data_shape).
        """
        flat, num_given = self.given_prefix(x_top)
        return self._fill(flat, num_given, rng).reshape(len(flat), *self.data_shape)

    def given_prefix(self, x_top: Any) -> tuple[np.ndarray, int]:
        """(N, D) array holding the given leading dims of ``x_top`` (zeros after), and
        how many dims are given."""
        top = np.asarray(x_top.data if isinstance(x_top, Tensor) else x_top, dtype=self.dtype)
        if len(self.data_shape) == 3 and self.data_shape[0] == 1:
            _, height, width = self.data_shape
            accepted = [(1, height // 2, width), self.data_shape]
            num_given = (height // 2) * width
        else:
            accepted = [(self.num_dims // 2,), self.data_shape]
            num_given = self.num_dims // 2
        if top.ndim < 1 or top.shape[1:] not in accepted:
            expected = " or ".join(f"(N, {', '.join(map(str, shape))})" for shape in accepted)
            raise ValueError(f"{type(self).__name__}.complete: x_top has shape {top.shape}, "
                             f"expected {expected}")
        flat = np.zeros((len(top), self.num_dims), dtype=self.dtype)
        flat[:, :num_given] = top.reshape(len(top), -1)[:, :num_given]
        return flat, num_given
