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

The base the vector models (FVSBN, NADE, RNADE, MADE) share lives with the models, in
``minigen/models/autoregressive/base.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .layers import Linear


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
