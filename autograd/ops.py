"""Primitives: each forward computation and its vector-Jacobian product, side by side.

Every primitive is one call::

    record(<NumPy forward>, (x,), lambda g, out: (<∂L/∂x from g = ∂L/∂out>,), "op")

The VJP receives the gradient ``g`` of the result and the result ``out`` itself (both
Tensors) and is written with Tensor ops, so it is differentiable again. Primitives that
give several results (``split``, the LSTM and GRU cells) use ``record_many``: their VJP
gets one gradient per result, None where a result was not used. Functions below the
"composed" line are built from primitives and need no VJP of their own.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .engine import Tensor, is_grad_enabled, record, record_many

# ----- helpers ------------------------------------------------------------------------


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """Wrap ``value`` as a constant Tensor; a Python scalar takes ``like``'s float dtype.

    This is what keeps float32 computations in float32: ``x * 2.0`` does not upcast.
    """
    if isinstance(value, Tensor):
        return value
    if (like is not None and isinstance(value, (int, float)) and not isinstance(value, bool)
            and like.data.dtype.kind == "f"):
        return Tensor(np.asarray(value, dtype=like.data.dtype))
    return Tensor(np.asarray(value))


def _operands(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; a Python scalar takes the other operand's dtype."""
    a_tensor = a if isinstance(a, Tensor) else None
    b_tensor = b if isinstance(b, Tensor) else None
    return as_tensor(a, b_tensor), as_tensor(b, a_tensor)


def _binary(name: str, forward: Callable, a: Any, b: Any) -> tuple[Tensor, Tensor, Any]:
    """The operands as Tensors and ``forward`` of their data; a broadcast error names both."""
    a, b = _operands(a, b)
    try:
        return a, b, forward(a.data, b.data)
    except ValueError:
        raise ValueError(
            f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None


def _broadcast_shape(a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    return np.broadcast_shapes(a.shape, b.shape)


def unbroadcast(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``grad`` down to ``shape``: the VJP of broadcasting, shared by every binary op."""
    if grad.data.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    kept = tuple(extra + i for i, size in enumerate(shape) if size == 1
                 and grad.shape[extra + i] != 1)
    # One reduction over the leading and the size-1 axes, then (if needed) a free reshape.
    summed = sum(grad, axis=tuple(range(extra)) + kept)
    return summed if summed.shape == shape else reshape(summed, shape)


def _normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim if ndim else 0 for a in axes)


# ----- elementwise binary primitives --------------------------------------------------


def add(a: Any, b: Any) -> Tensor:
    a, b, out = _binary("add", np.add, a, b)
    # ∂(a + b)/∂a = ∂(a + b)/∂b = 1
    return record(out, (a, b), lambda g, out: (unbroadcast(g, a.shape),
                                               unbroadcast(g, b.shape)), "add")


def mul(a: Any, b: Any) -> Tensor:
    a, b, out = _binary("mul", np.multiply, a, b)

    def vjp(g: Tensor, out: Tensor) -> tuple:
        # ∂(ab)/∂a = b, ∂(ab)/∂b = a
        return (unbroadcast(g * b, a.shape) if a.requires_grad else None,
                unbroadcast(g * a, b.shape) if b.requires_grad else None)

    return record(out, (a, b), vjp, "mul")


def div(a: Any, b: Any) -> Tensor:
    a, b, out = _binary("div", np.divide, a, b)

    def vjp(g: Tensor, out: Tensor) -> tuple:
        # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b² = −out/b
        return (unbroadcast(g / b, a.shape) if a.requires_grad else None,
                unbroadcast(neg(g) * out / b, b.shape) if b.requires_grad else None)

    return record(out, (a, b), vjp, "div")


def power(base: Any, exponent: Any) -> Tensor:
    base, exponent, out = _binary("pow", np.power, base, exponent)

    def vjp(g: Tensor, out: Tensor) -> tuple:
        grad_base = grad_exponent = None
        if base.requires_grad:  # ∂(bᵉ)/∂b = e·b^(e−1)
            grad_base = unbroadcast(g * exponent * base ** (exponent - 1), base.shape)
        if exponent.requires_grad:  # ∂(bᵉ)/∂e = bᵉ·log b, taken as 0 where b ≤ 0
            safe_log = log(where(base.data > 0, base, 1))
            grad_exponent = unbroadcast(g * out * safe_log, exponent.shape)
        return grad_base, grad_exponent

    return record(out, (base, exponent), vjp, "pow")


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max; at ties the gradient is split evenly (as torch.maximum)."""
    a, b, out = _binary("maximum", np.maximum, a, b)
    share_a = ((a.data > b.data) + 0.5 * (a.data == b.data)).astype(out.dtype)
    # ∂max/∂a = [a > b] + ½[a = b], ∂max/∂b = 1 − that
    return record(out, (a, b), lambda g, out: (unbroadcast(g * share_a, a.shape),
                                               unbroadcast(g * (1 - share_a), b.shape)),
                  "maximum")


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Pick ``a`` where ``condition`` holds, else ``b`` (condition is a plain bool array)."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition,
                           dtype=bool)
    a, b, out = _binary("where", lambda x, y: np.where(condition, x, y), a, b)
    # ∂/∂a = [condition], ∂/∂b = [not condition]; a multiply by the mask is 10× cheaper
    # than np.where on a random mask.
    return record(out, (a, b), lambda g, out: (unbroadcast(g * condition, a.shape),
                                               unbroadcast(g * ~condition, b.shape)), "where")


# ----- elementwise unary primitives ---------------------------------------------------


def neg(x: Any) -> Tensor:
    x = as_tensor(x)
    return record(-x.data, (x,), lambda g, out: (neg(g),), "neg")  # ∂(−x) = −1


def exp(x: Any) -> Tensor:
    x = as_tensor(x)
    return record(np.exp(x.data), (x,), lambda g, out: (g * out,), "exp")  # ∂eˣ = eˣ


def log(x: Any) -> Tensor:
    x = as_tensor(x)
    return record(np.log(x.data), (x,), lambda g, out: (g / x,), "log")  # ∂log x = 1/x


def log1p(x: Any) -> Tensor:
    x = as_tensor(x)
    # ∂log(1 + x) = 1/(1 + x)
    return record(np.log1p(x.data), (x,), lambda g, out: (g / (x + 1),), "log1p")


def sqrt(x: Any) -> Tensor:
    x = as_tensor(x)
    # ∂√x = 1/(2√x)
    return record(np.sqrt(x.data), (x,), lambda g, out: (g / (out * 2),), "sqrt")


def tanh(x: Any) -> Tensor:
    x = as_tensor(x)
    # ∂tanh x = 1 − tanh² x
    return record(np.tanh(x.data), (x,), lambda g, out: (g * (1 - out * out),), "tanh")


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1/(1 + e^{−x}) in four in-place passes.

    Relatively exact wherever σ(x) is a normal float: for x ≪ 0, e^{−x} is large and its
    reciprocal is e^{x} to within rounding; past the overflow (x < −88 in float32) e^{−x}
    is inf and σ is 0, where the true value is below the smallest normal float. 16× faster
    than the two-branch np.where form on 64×16×8×8 (41 against 670 µs).
    """
    out = np.negative(x, out=np.empty(x.shape, x.dtype if x.dtype.kind == "f" else np.float64))
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def sigmoid(x: Any) -> Tensor:
    x = as_tensor(x)
    # ∂σ = σ(1 − σ)
    return record(_stable_sigmoid(x.data), (x,), lambda g, out: (g * out * (1 - out),),
                  "sigmoid")


def relu(x: Any) -> Tensor:
    x = as_tensor(x)
    # ∂relu = [x > 0] = [out > 0]: a multiply by the mask, no np.where
    return record(np.maximum(x.data, 0), (x,), lambda g, out: (g * (out.data > 0),), "relu")


def softplus(x: Any) -> Tensor:
    """log(1 + e^x), computed as max(x, 0) + log1p(e^{−|x|}) so it is finite at ±1e4."""
    x = as_tensor(x)
    out = np.maximum(x.data, 0) + np.log1p(np.exp(-np.abs(x.data)))
    # ∂softplus = σ(x)
    return record(out.astype(x.dtype, copy=False), (x,), lambda g, out: (g * sigmoid(x),),
                  "softplus")


def astype(x: Any, dtype: Any) -> Tensor:
    x = as_tensor(x)
    source = x.dtype
    # the identity, cast back to the source dtype
    return record(x.data.astype(dtype), (x,), lambda g, out: (astype(g, source),), "astype")


# ----- reductions ---------------------------------------------------------------------


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = as_tensor(x)
    axes = _normalize_axis(axis, x.ndim)

    def vjp(g: Tensor, out: Tensor) -> tuple:
        # ∂(Σ x)/∂x_i = 1: g spread back over the summed axes
        if g.ndim:  # a 0-d gradient broadcasts as it is
            g = reshape(g, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
        return (broadcast_to(g, x.shape),)

    return record(np.add.reduce(x.data, axis=axes, keepdims=keepdims), (x,), vjp, "sum")


def _max_or_min(x: Tensor, axis: Any, keepdims: bool, reducer: Any, name: str) -> Tensor:
    axes = _normalize_axis(axis, x.ndim)
    extreme = reducer(x.data, axis=axes, keepdims=True)
    # Ties share the gradient evenly, so the VJP is a (sub)gradient whatever the tie.
    hits = (x.data == extreme).astype(x.dtype)
    share = hits / np.sum(hits, axis=axes, keepdims=True)
    kept_shape = extreme.shape
    out = extreme if keepdims else np.squeeze(extreme, axis=axes)
    # ∂max/∂x_i = [x_i is the max] / (number of maxima)
    return record(out, (x,), lambda g, out: (broadcast_to(reshape(g, kept_shape), x.shape)
                                             * share,), name)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``; tied maxima share the gradient evenly."""
    return _max_or_min(as_tensor(x), axis, keepdims, np.max, "max")


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``; tied minima share the gradient evenly."""
    return _max_or_min(as_tensor(x), axis, keepdims, np.min, "min")


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) = m + log Σ exp(x − m) with m = max(x): finite for any finite x."""
    x = as_tensor(x)
    axes = _normalize_axis(axis, x.ndim)
    shift = np.max(x.data, axis=axes, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    kept = shift + np.log(np.sum(np.exp(x.data - shift), axis=axes, keepdims=True))
    kept_shape = kept.shape

    def vjp(g: Tensor, out: Tensor) -> tuple:
        # ∂/∂x_i log Σ exp(x) = softmax(x)_i = exp(x_i − logsumexp(x))
        softmax_x = exp(x - reshape(out, kept_shape))
        return (broadcast_to(reshape(g, kept_shape), x.shape) * softmax_x,)

    value = kept if keepdims else np.squeeze(kept, axis=axes)
    return record(value.astype(x.dtype, copy=False), (x,), vjp, "logsumexp")


# ----- linear algebra -----------------------------------------------------------------


def _matmul_nd(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product of Tensors with ndim ≥ 2; leading (batch) dims broadcast."""
    try:
        out = np.matmul(a.data, b.data)
    except ValueError:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned "
            f"(last dim of the first, {a.shape[-1]}, must equal the second-to-last of the "
            f"second, {b.shape[-2]}; leading dims must broadcast)"
        ) from None

    def vjp(g: Tensor, out: Tensor) -> tuple:
        # ∂(AB)/∂A = g Bᵀ, ∂(AB)/∂B = Aᵀ g
        return (unbroadcast(g @ swapaxes(b), a.shape) if a.requires_grad else None,
                unbroadcast(swapaxes(a) @ g, b.shape) if b.requires_grad else None)

    return record(out, (a, b), vjp, "matmul")


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b with NumPy's rules: 1-D operands are promoted and the added axis removed."""
    a, b = _operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: scalars are not allowed (shapes {a.shape} and {b.shape})")
    out = _matmul_nd(reshape(a, (1, a.shape[0])) if a.ndim == 1 else a,
                     reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b)
    # Drop a's promoted row before b's column, so 1-D @ 1-D gives a 0-d result.
    if a.ndim == 1:
        out = reshape(out, out.shape[:-2] + out.shape[-1:])
    return reshape(out, out.shape[:-1]) if b.ndim == 1 else out


# ----- shape and indexing primitives --------------------------------------------------


def reshape(x: Any, shape: Any) -> Tensor:
    x = as_tensor(x)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        out = x.data.reshape(shape)
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a Tensor of shape {x.shape} ({x.size} elements) "
            f"into shape {shape}"
        ) from None
    source = x.shape
    # a reshape moves no value: its VJP reshapes back
    return record(out, (x,), lambda g, out: (reshape(g, source),), "reshape")


def transpose(x: Any, axes: Any = None) -> Tensor:
    """Permute axes (reverse them when ``axes`` is None), as np.transpose."""
    x = as_tensor(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(int(a) for a in axes)
    if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of a {x.ndim}-D shape")
    inverse = tuple(np.argsort([a % x.ndim for a in axes]))
    # the VJP of a permutation is the inverse permutation
    return record(np.transpose(x.data, axes), (x,), lambda g, out: (transpose(g, inverse),),
                  "transpose")


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """Expand size-1 (or missing leading) dims to ``shape``; VJP sums them back."""
    x = as_tensor(x)
    shape = tuple(shape)
    # A materialised copy, not np.broadcast_to's zero-stride view: a view is free to make
    # but sends every matmul and conv that meets it down NumPy's non-BLAS loops (2-5×
    # slower), and this is where every loss's gradient starts (sum's VJP).
    out = np.empty(shape, dtype=x.dtype)
    try:
        out[...] = x.data
    except ValueError:
        raise ValueError(f"expand: cannot broadcast shape {x.shape} to {shape}") from None
    return record(out, (x,), lambda g, out: (unbroadcast(g, x.shape),), "expand")


def _plain_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(p.data if isinstance(p, Tensor) else p for p in index)
    return index.data if isinstance(index, Tensor) else index


def getitem(x: Any, index: Any) -> Tensor:
    """x[index], basic or integer-array indexing; repeated indices accumulate gradient."""
    x = as_tensor(x)
    index = _plain_index(index)
    source_shape = x.shape
    # ∂x[index]/∂x puts g back at index, zeros elsewhere
    return record(np.asarray(x.data[index]), (x,),
                  lambda g, out: (scatter_add(g, index, source_shape),), "getitem")


def scatter_add(values: Any, index: Any, shape: tuple[int, ...]) -> Tensor:
    """zeros(shape) with ``values`` added at ``index`` (np.add.at): getitem's adjoint."""
    values = as_tensor(values)
    out = np.zeros(shape, dtype=values.dtype)
    parts = index if isinstance(index, tuple) else (index,)
    if builtins.any(isinstance(p, (list, np.ndarray)) for p in parts):  # advanced indexing
        np.add.at(out, index, values.data)
    else:
        out[index] = values.data
    # linear in values: its VJP reads the same entries back
    return record(out, (values,), lambda g, out: (getitem(g, index),), "scatter_add")


def concat(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concat: needs at least one Tensor")
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(
            f"concat: shapes {[t.shape for t in tensors]} differ outside axis {axis}"
        ) from None
    cuts = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    # the adjoint of concatenation is splitting at the same cuts (views, no copies)
    return record(out, tuple(tensors), lambda g, out: tuple(split(g, cuts, axis)), "concat")


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """As np.split: a number of equal sections, or the indices to cut at.

    One primitive with many results: the pieces are views of x, and the backward pass
    concatenates their gradients once (zeros for unused pieces) instead of adding a
    full-size gradient per piece, so splitting a sequence into T steps costs O(T) memory.
    """
    x = as_tensor(x)
    axis = axis % x.ndim
    size = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)) and size % indices_or_sections:
        raise ValueError(f"split: axis {axis} of size {size} does not divide into "
                         f"{indices_or_sections} equal sections")
    pieces = np.split(x.data, indices_or_sections, axis=axis)

    def vjp(grads: list) -> tuple:
        # ∂/∂x of the pieces: their gradients side by side
        return (concat([Tensor(np.zeros(p.shape, x.dtype)) if g is None else g
                        for g, p in zip(grads, pieces)], axis),)

    return record_many(pieces, (x,), vjp, "split")


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """Constant padding with np.pad's ``pad_width`` (a pair per axis, or one int)."""
    x = as_tensor(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    if np.any(widths < 0):
        raise ValueError(f"pad: widths must be non-negative, got {widths.tolist()}")
    out = np.pad(x.data, widths, mode="constant", constant_values=value)
    inner = tuple(slice(int(lo), int(lo) + size) for (lo, _), size in zip(widths, x.shape))
    # the padding is constant: the VJP crops it away
    return record(out, (x,), lambda g, out: (getitem(g, inner),), "pad")


# ----- composed from the primitives above (no VJP needed) -----------------------------


def sub(a: Any, b: Any) -> Tensor:
    a, b, _ = _binary("sub", _broadcast_shape, a, b)
    return add(a, neg(b))  # a − b = a + (−b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min = −max(−a, −b); ties split the gradient evenly (as torch)."""
    a, b, _ = _binary("minimum", _broadcast_shape, a, b)
    return neg(maximum(neg(a), neg(b)))


def abs(x: Any) -> Tensor:
    """|x| = x·sign(x); the derivative at 0 is taken as 0 (as torch)."""
    x = as_tensor(x)
    return x * np.sign(x.data)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope·x (the derivative at 0 is the slope, as torch)."""
    x = as_tensor(x)
    return where(x.data > 0, x, x * negative_slope)


def clip(x: Any, low: Any = None, high: Any = None) -> Tensor:
    """Clamp to [low, high]; the gradient passes where low ≤ x ≤ high (as torch.clamp)."""
    x = as_tensor(x)
    low = -np.inf if low is None else low
    high = np.inf if high is None else high
    inside = (x.data >= low) & (x.data <= high)
    return where(inside, x, np.clip(x.data, low, high))


def swapaxes(x: Tensor) -> Tensor:
    """Swap the last two axes (the matrix transpose of a batch of matrices)."""
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, axes)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = as_tensor(x)
    count = int(np.prod([x.shape[a] for a in _normalize_axis(axis, x.ndim)]))
    return sum(x, axis, keepdims) / count


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance as NumPy (``ddof=0``: divide by N; torch's default is ``ddof=1``)."""
    x = as_tensor(x)
    count = int(np.prod([x.shape[a] for a in _normalize_axis(axis, x.ndim)]))
    centred = x - mean(x, axis, keepdims=True)
    return sum(centred * centred, axis, keepdims) / (count - ddof)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """x − logsumexp(x): stable log-probabilities from logits."""
    x = as_tensor(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Any, axis: int = -1) -> Tensor:
    return exp(log_softmax(x, axis))


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all Tensors need the same shape, got {sorted(shapes)}")
    axis = axis % (tensors[0].ndim + 1)
    return concat([reshape(t, t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors], axis)


def unstack(x: Any, axis: int = 0) -> list[Tensor]:
    """The slices of x along ``axis`` (stack's inverse), with split's O(T) backward."""
    x = as_tensor(x)
    axis = axis % x.ndim
    shape = x.shape[:axis] + x.shape[axis + 1:]
    return [reshape(piece, shape) for piece in split(x, x.shape[axis], axis)]


# ----- fused recurrent cells: the elementwise part of an LSTM or GRU step, one primitive
# Fifteen recorded ops per step become one. Each cell's equations are written once and
# evaluated on ndarrays (forward, and backward without create_graph) or on Tensors (when
# the backward pass is itself recorded, so the gradient is differentiable again). A kit
# supplies the few functions whose names differ between NumPy and this module; ``@``,
# ``.T``, ``.reshape`` and the arithmetic operators work on both.


class _Kit(NamedTuple):
    split: Callable
    sigmoid: Callable
    tanh: Callable
    concat: Callable
    stack: Callable  # (list, axis)
    unstack: Callable  # (x, axis) -> the slices along axis


_ARRAYS = _Kit(np.split, _stable_sigmoid, np.tanh, np.concatenate, np.stack,
               lambda x, axis: list(np.moveaxis(x, axis, 0)))


def _lstm_forward(gates: Any, cell: Any, axis: int, kit: _Kit) -> tuple:
    i, f, g, o = kit.split(gates, 4, axis)
    i, f, g, o = kit.sigmoid(i), kit.sigmoid(f), kit.tanh(g), kit.sigmoid(o)
    new_cell = f * cell + i * g  # c' = f ⊙ c + i ⊙ g
    tanh_cell = kit.tanh(new_cell)
    return (i, f, g, o, tanh_cell), o * tanh_cell, new_cell  # h' = o ⊙ tanh(c')


def _lstm_backward(grad_h: Any, grad_c: Any, acts: tuple, cell: Any, axis: int,
                   kit: _Kit) -> tuple:
    i, f, g, o, tanh_cell = acts
    grad_cell = grad_c + grad_h * o * (1 - tanh_cell * tanh_cell)  # ∂h'/∂c' = o(1 − tanh²c')
    # ∂c'/∂i = g, ∂c'/∂f = c, ∂c'/∂g = i, ∂h'/∂o = tanh c'; then σ' = σ(1 − σ), tanh' = 1 − tanh²
    grad_gates = kit.concat([grad_cell * g * i * (1 - i), grad_cell * cell * f * (1 - f),
                             grad_cell * i * (1 - g * g), grad_h * tanh_cell * o * (1 - o)],
                            axis)
    return grad_gates, grad_cell * f  # ∂c'/∂c = f


def lstm_cell(gates: Any, cell: Any, axis: int = 0) -> tuple[Tensor, Tensor]:
    """One LSTM update from gate pre-activations: returns (h', c').

    gates : the pre-activations of i, f, g, o (torch's order) stacked along ``axis``
    cell : c, the shape of one gate block
    i, f, o = σ(·), g = tanh(·); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c').
    """
    gates, cell = as_tensor(gates), as_tensor(cell)
    acts, hidden, new_cell = _lstm_forward(gates.data, cell.data, axis, _ARRAYS)

    def vjp(grads: list) -> tuple:
        grad_h, grad_c = (Tensor(np.zeros_like(hidden)) if g is None else g for g in grads)
        if is_grad_enabled():  # create_graph: recompute the activations inside the graph
            tensor_acts = _lstm_forward(gates, cell, axis, _TENSORS)[0]
            return _lstm_backward(grad_h, grad_c, tensor_acts, cell, axis, _TENSORS)
        arrays = _lstm_backward(grad_h.data, grad_c.data, acts, cell.data, axis, _ARRAYS)
        return tuple(Tensor(a) for a in arrays)

    h, c = record_many([hidden, new_cell], (gates, cell), vjp, "lstm_cell")
    return h, c


def _gru_forward(x_gates: Any, h_gates: Any, hidden: Any, axis: int, kit: _Kit) -> tuple:
    (x_r, x_z, x_n), (h_r, h_z, h_n) = kit.split(x_gates, 3, axis), kit.split(h_gates, 3, axis)
    r, z = kit.sigmoid(x_r + h_r), kit.sigmoid(x_z + h_z)
    n = kit.tanh(x_n + r * h_n)  # n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    return (r, z, n, h_n), n + z * (hidden - n)  # h' = (1 − z) ⊙ n + z ⊙ h


def _gru_backward(grad: Any, acts: tuple, hidden: Any, axis: int, kit: _Kit) -> tuple:
    r, z, n, h_n = acts
    grad_n = grad * (1 - z) * (1 - n * n)  # ∂h'/∂n = 1 − z, tanh' = 1 − n²
    grad_r = grad_n * h_n * r * (1 - r)  # ∂n/∂r = h_n (inside tanh), σ' = σ(1 − σ)
    grad_z = grad * (hidden - n) * z * (1 - z)  # ∂h'/∂z = h − n
    return (kit.concat([grad_r, grad_z, grad_n], axis),
            kit.concat([grad_r, grad_z, grad_n * r], axis),
            grad * z)  # ∂h'/∂h = z (the direct path; W_hh's path is h_gates')


def gru_cell(x_gates: Any, h_gates: Any, hidden: Any, axis: int = 0) -> Tensor:
    """One GRU update (torch's equations) from both projections: returns h'.

    x_gates : W_ih x + b_ih, h_gates : W_hh h + b_hh, each r, z, n stacked along ``axis``
    hidden : h, the shape of one gate block
    """
    x_gates, h_gates, hidden = as_tensor(x_gates), as_tensor(h_gates), as_tensor(hidden)
    acts, out = _gru_forward(x_gates.data, h_gates.data, hidden.data, axis, _ARRAYS)

    def vjp(g: Tensor, out: Tensor) -> tuple:
        if is_grad_enabled():  # create_graph: recompute the activations inside the graph
            tensor_acts = _gru_forward(x_gates, h_gates, hidden, axis, _TENSORS)[0]
            return _gru_backward(g, tensor_acts, hidden, axis, _TENSORS)
        return tuple(Tensor(a) for a in _gru_backward(g.data, acts, hidden.data, axis, _ARRAYS))

    return record(out, (x_gates, h_gates, hidden), vjp, "gru_cell")


_TENSORS = _Kit(split, sigmoid, tanh, concat, stack, unstack)


# ----- the whole LSTM recurrence as one primitive -------------------------------------
# Per step, the layer would record a matmul, an add and a cell, and the backward pass would
# form W_hh's gradient as T thin products (4H × N)(N × H) added one by one. Here the
# backward loop keeps each step's gate gradient and forms ∂L/∂W_hh = Σ_t δ_t h_{t−1}ᵀ as
# one product over all T·N columns; the gate gradients, side by side, are already
# ∂L/∂x_gates in the input's layout.


def _lstm_sequence_forward(x_gates: Any, h0: Any, c0: Any, weight_hh: Any, reverse: bool,
                           kit: _Kit) -> tuple:
    """Every step's (activations, h_{t−1}, c_{t−1}, h_t), indexed by t, and the last c."""
    steps = kit.unstack(x_gates, 1)  # the (4H, N) pre-activations W_ih x_t + b of step t
    length = len(steps)
    acts, h_prev, c_prev, hs = ([None] * length for _ in range(4))
    h, c = h0, c0
    for t in (range(length - 1, -1, -1) if reverse else range(length)):
        h_prev[t], c_prev[t] = h, c
        acts[t], h, c = _lstm_forward(steps[t] + weight_hh @ h, c, 0, kit)
        hs[t] = h
    return acts, h_prev, c_prev, hs, c


def _lstm_sequence_backward(grad_out: Any, grad_h: Any, grad_c: Any, acts: list,
                            h_prev: list, c_prev: list, weight_hh: Any, reverse: bool,
                            kit: _Kit) -> tuple:
    """(∂L/∂x_gates, ∂L/∂h_0, ∂L/∂c_0, ∂L/∂W_hh), walking the steps backwards."""
    length = len(acts)
    grad_outs = None if grad_out is None else kit.unstack(grad_out, 0)
    grad_gates = [None] * length
    for t in (range(length) if reverse else range(length - 1, -1, -1)):
        if grad_outs is not None:  # h_t feeds the output and the next step
            grad_h = grad_h + grad_outs[t]
        grad_gates[t], grad_c = _lstm_backward(grad_h, grad_c, acts[t], c_prev[t], 0, kit)
        grad_h = weight_hh.T @ grad_gates[t]  # ∂(W_hh h)/∂h = W_hhᵀ
    deltas = kit.stack(grad_gates, 1)  # (4H, T, N), the layout of x_gates
    columns = length * deltas.shape[2]
    previous = kit.stack(h_prev, 1).reshape(h_prev[0].shape[0], columns)  # (H, T·N)
    grad_weight = deltas.reshape(deltas.shape[0], columns) @ previous.T  # Σ_t δ_t h_{t−1}ᵀ
    return deltas, grad_h, grad_c, grad_weight


def lstm_sequence(x_gates: Any, h0: Any, c0: Any, weight_hh: Any,
                  reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """The LSTM recurrence over a whole sequence; returns (outputs, h_last, c_last).

    x_gates : (4H, T, N), W_ih x_t + b_ih + b_hh for every step (i, f, g, o blocks), the
        layout one product W_ih [x_1 … x_T] gives
    h0, c0 : (H, N), the state before the first step
    weight_hh : (4H, H)
    reverse : run t = T−1 … 0 (the backward direction of a bidirectional layer)
    outputs : (T, H, N), h_t for every t; h_last, c_last the state after the last step run.
    Each step is :func:`lstm_cell` on x_gates[:, t] + W_hh h; the gradient equals that of
    the per-step graph up to the order of float summation in ∂L/∂W_hh.
    """
    x_gates, h0, c0, weight_hh = (as_tensor(v) for v in (x_gates, h0, c0, weight_hh))
    hidden = h0.shape[0] if h0.ndim == 2 else -1
    if (x_gates.ndim != 3 or h0.ndim != 2 or c0.shape != h0.shape
            or weight_hh.shape != (4 * hidden, hidden) or x_gates.shape[0] != 4 * hidden
            or x_gates.shape[2] != h0.shape[1] or x_gates.shape[1] == 0):
        raise ValueError(
            f"lstm_sequence: expected x_gates (4H, T, N) with T > 0, h0 and c0 (H, N), "
            f"weight_hh (4H, H); got x_gates {x_gates.shape}, h0 {h0.shape}, c0 {c0.shape}, "
            f"weight_hh {weight_hh.shape}"
        )
    acts, h_prev, c_prev, hs, c_last = _lstm_sequence_forward(
        x_gates.data, h0.data, c0.data, weight_hh.data, reverse, _ARRAYS)

    def vjp(grads: list) -> tuple:
        grad_out, grad_h, grad_c = grads
        zeros = Tensor(np.zeros_like(h0.data))
        grad_h = zeros if grad_h is None else grad_h
        grad_c = zeros if grad_c is None else grad_c
        if is_grad_enabled():  # create_graph: recompute the steps inside the graph
            tensor_acts, tensor_h, tensor_c = _lstm_sequence_forward(
                x_gates, h0, c0, weight_hh, reverse, _TENSORS)[:3]
            return _lstm_sequence_backward(grad_out, grad_h, grad_c, tensor_acts, tensor_h,
                                           tensor_c, weight_hh, reverse, _TENSORS)
        arrays = _lstm_sequence_backward(None if grad_out is None else grad_out.data,
                                         grad_h.data, grad_c.data, acts, h_prev, c_prev,
                                         weight_hh.data, reverse, _ARRAYS)
        return tuple(Tensor(a) for a in arrays)

    outputs, h_last, c_last = record_many([np.stack(hs), hs[0 if reverse else -1], c_last],
                                          (x_gates, h0, c0, weight_hh), vjp, "lstm_sequence")
    return outputs, h_last, c_last


# ----- Tensor's operators and methods, from one table ---------------------------------


def _reflected(op: Callable) -> Callable:
    return lambda self, other: op(other, self)


_TENSOR_METHODS = {
    "__add__": add, "__radd__": _reflected(add), "__sub__": sub, "__rsub__": _reflected(sub),
    "__mul__": mul, "__rmul__": _reflected(mul), "__truediv__": div,
    "__rtruediv__": _reflected(div), "__matmul__": matmul, "__rmatmul__": _reflected(matmul),
    "__pow__": power, "__rpow__": _reflected(power), "__neg__": neg, "__getitem__": getitem,
    "sum": sum, "mean": mean, "var": var, "max": max, "min": min, "astype": astype,
    "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "tanh": tanh, "sigmoid": sigmoid,
    "relu": relu, "softplus": softplus, "clip": clip,
}
for _name, _method in _TENSOR_METHODS.items():
    setattr(Tensor, _name, _method)
