"""Primitives: each forward computation and its vector-Jacobian product, side by side.

Every primitive follows one pattern::

    def op(x):
        out = <NumPy forward>
        def vjp(g):                 # g: gradient of the loss w.r.t. out (a Tensor)
            return (<gradient w.r.t. x, written with Tensor ops>,)
        return record(out, (x,), vjp, "op")

Because VJPs use Tensor ops, they are themselves differentiable. Functions below the
"composed" line are built from primitives and need no VJP of their own.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from .engine import Tensor, record

# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """Wrap ``value`` as a constant Tensor; a Python scalar takes ``like``'s float dtype.

    This is what keeps float32 computations in float32: ``x * 2.0`` does not upcast.
    """
    if isinstance(value, Tensor):
        return value
    if (
        like is not None
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and np.issubdtype(like.dtype, np.floating)
    ):
        return Tensor(np.asarray(value, dtype=like.dtype))
    return Tensor(np.asarray(value))


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    a_tensor = a if isinstance(a, Tensor) else None
    b_tensor = b if isinstance(b, Tensor) else None
    return as_tensor(a, b_tensor), as_tensor(b, a_tensor)


def _broadcast_shape(op: str, a: Tensor, b: Tensor) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None


def unbroadcast(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``grad`` down to ``shape``: the VJP of broadcasting, shared by every binary op."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = sum(grad, axis=tuple(range(extra)))
    kept = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if kept:
        grad = sum(grad, axis=kept, keepdims=True)
    return grad


def _normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim if ndim else 0 for a in axes)


def _keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


# ----------------------------------------------------------------------------------------
# elementwise binary primitives
# ----------------------------------------------------------------------------------------


def add(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    try:
        out = a.data + b.data
    except ValueError:
        _broadcast_shape("add", a, b)
        raise

    def vjp(g: Tensor) -> tuple:
        return unbroadcast(g, a.shape), unbroadcast(g, b.shape)

    return record(out, (a, b), vjp, "add")


def sub(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    try:
        out = a.data - b.data
    except ValueError:
        _broadcast_shape("sub", a, b)
        raise

    def vjp(g: Tensor) -> tuple:
        return unbroadcast(g, a.shape), unbroadcast(neg(g), b.shape)

    return record(out, (a, b), vjp, "sub")


def mul(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    try:
        out = a.data * b.data
    except ValueError:
        _broadcast_shape("mul", a, b)
        raise

    def vjp(g: Tensor) -> tuple:
        grad_a = unbroadcast(g * b, a.shape) if a.requires_grad else None
        grad_b = unbroadcast(g * a, b.shape) if b.requires_grad else None
        return grad_a, grad_b

    return record(out, (a, b), vjp, "mul")


def div(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    try:
        out = a.data / b.data
    except ValueError:
        _broadcast_shape("div", a, b)
        raise

    def vjp(g: Tensor) -> tuple:
        grad_a = unbroadcast(g / b, a.shape) if a.requires_grad else None
        grad_b = unbroadcast(neg(g) * a / (b * b), b.shape) if b.requires_grad else None
        return grad_a, grad_b

    return record(out, (a, b), vjp, "div")


def power(base: Any, exponent: Any) -> Tensor:
    """base ** exponent; d/dbase = e·base^(e−1), d/dexponent = out·log(base)."""
    base, exponent = _pair(base, exponent)
    try:
        out = base.data**exponent.data
    except ValueError:
        _broadcast_shape("pow", base, exponent)
        raise

    def vjp(g: Tensor) -> tuple:
        grad_base = grad_exponent = None
        if base.requires_grad:
            grad_base = unbroadcast(g * exponent * base ** (exponent - 1), base.shape)
        if exponent.requires_grad:
            # log(base) is only real for base > 0; elsewhere the derivative is taken as 0.
            safe_log = log(where(base.data > 0, base, 1))
            grad_exponent = unbroadcast(g * out_tensor * safe_log, exponent.shape)
        return grad_base, grad_exponent

    out_tensor = record(out, (base, exponent), vjp, "pow")
    return out_tensor


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max; at ties the gradient is split evenly (as torch.maximum)."""
    a, b = _pair(a, b)
    try:
        out = np.maximum(a.data, b.data)
    except ValueError:
        _broadcast_shape("maximum", a, b)
        raise
    share_a = (a.data > b.data) + 0.5 * (a.data == b.data)

    def vjp(g: Tensor) -> tuple:
        return unbroadcast(g * share_a.astype(g.dtype), a.shape), unbroadcast(
            g * (1 - share_a).astype(g.dtype), b.shape
        )

    return record(out, (a, b), vjp, "maximum")


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min; at ties the gradient is split evenly (as torch.minimum)."""
    a, b = _pair(a, b)
    try:
        out = np.minimum(a.data, b.data)
    except ValueError:
        _broadcast_shape("minimum", a, b)
        raise
    share_a = (a.data < b.data) + 0.5 * (a.data == b.data)

    def vjp(g: Tensor) -> tuple:
        return unbroadcast(g * share_a.astype(g.dtype), a.shape), unbroadcast(
            g * (1 - share_a).astype(g.dtype), b.shape
        )

    return record(out, (a, b), vjp, "minimum")


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Pick ``a`` where ``condition`` holds, else ``b`` (condition is a plain bool array)."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition,
                           dtype=bool)
    a, b = _pair(a, b)
    try:
        out = np.where(condition, a.data, b.data)
    except ValueError:
        raise ValueError(
            f"where: condition {condition.shape} and operands {a.shape} and {b.shape} cannot "
            "be broadcast together"
        ) from None

    def vjp(g: Tensor) -> tuple:
        zero = np.zeros((), dtype=g.dtype)
        return (
            unbroadcast(where(condition, g, zero), a.shape),
            unbroadcast(where(condition, zero, g), b.shape),
        )

    return record(out, (a, b), vjp, "where")


# ----------------------------------------------------------------------------------------
# elementwise unary primitives
# ----------------------------------------------------------------------------------------


def neg(x: Any) -> Tensor:
    x = as_tensor(x)
    return record(-x.data, (x,), lambda g: (neg(g),), "neg")


def exp(x: Any) -> Tensor:
    x = as_tensor(x)

    def vjp(g: Tensor) -> tuple:
        return (g * out,)  # d exp(x) = exp(x)

    out = record(np.exp(x.data), (x,), vjp, "exp")
    return out


def log(x: Any) -> Tensor:
    x = as_tensor(x)
    return record(np.log(x.data), (x,), lambda g: (g / x,), "log")


def log1p(x: Any) -> Tensor:
    x = as_tensor(x)
    return record(np.log1p(x.data), (x,), lambda g: (g / (x + 1),), "log1p")


def sqrt(x: Any) -> Tensor:
    x = as_tensor(x)

    def vjp(g: Tensor) -> tuple:
        return (g / (out * 2),)  # d sqrt(x) = 1 / (2 sqrt(x))

    out = record(np.sqrt(x.data), (x,), vjp, "sqrt")
    return out


def abs(x: Any) -> Tensor:
    """|x|; the derivative at 0 is taken as 0 (as torch)."""
    x = as_tensor(x)
    sign = np.sign(x.data)
    return record(np.abs(x.data), (x,), lambda g: (g * sign,), "abs")


def tanh(x: Any) -> Tensor:
    x = as_tensor(x)

    def vjp(g: Tensor) -> tuple:
        return (g * (1 - out * out),)  # d tanh = 1 − tanh²

    out = record(np.tanh(x.data), (x,), vjp, "tanh")
    return out


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    # e^{−|x|} never overflows: σ(x) = 1/(1+e^{−x}) for x ≥ 0, e^{x}/(1+e^{x}) for x < 0.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid(x: Any) -> Tensor:
    x = as_tensor(x)

    def vjp(g: Tensor) -> tuple:
        return (g * out * (1 - out),)  # dσ = σ(1 − σ)

    out = record(_stable_sigmoid(x.data).astype(x.dtype, copy=False), (x,), vjp, "sigmoid")
    return out


def relu(x: Any) -> Tensor:
    x = as_tensor(x)

    def vjp(g: Tensor) -> tuple:
        return (where(x.data > 0, g, 0),)  # d relu = 1 where x > 0, else 0

    return record(np.maximum(x.data, 0), (x,), vjp, "relu")


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    x = as_tensor(x)
    slope = np.where(x.data > 0, 1, negative_slope).astype(x.dtype)
    return record(x.data * slope, (x,), lambda g: (g * slope,), "leaky_relu")


def softplus(x: Any) -> Tensor:
    """log(1 + e^x), computed as max(x, 0) + log1p(e^{−|x|}) so it is finite at ±1e4."""
    x = as_tensor(x)
    out = np.maximum(x.data, 0) + np.log1p(np.exp(-np.abs(x.data)))
    return record(out.astype(x.dtype, copy=False), (x,), lambda g: (g * sigmoid(x),),
                  "softplus")


def clip(x: Any, low: Any = None, high: Any = None) -> Tensor:
    """Clamp to [low, high]; the gradient passes where low ≤ x ≤ high (as torch.clamp)."""
    x = as_tensor(x)
    lo = -np.inf if low is None else low
    hi = np.inf if high is None else high
    inside = ((x.data >= lo) & (x.data <= hi)).astype(x.dtype)
    return record(np.clip(x.data, lo, hi), (x,), lambda g: (g * inside,), "clip")


def astype(x: Any, dtype: Any) -> Tensor:
    x = as_tensor(x)
    source = x.dtype
    return record(x.data.astype(dtype), (x,), lambda g: (astype(g, source),), "astype")


# ----------------------------------------------------------------------------------------
# reductions
# ----------------------------------------------------------------------------------------


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = as_tensor(x)
    axes = _normalize_axis(axis, x.ndim)

    def vjp(g: Tensor) -> tuple:
        if g.ndim:  # a 0-d gradient broadcasts as it is
            g = reshape(g, _keepdims_shape(x.shape, axes))
        return (broadcast_to(g, x.shape),)

    return record(np.add.reduce(x.data, axis=axes, keepdims=keepdims), (x,), vjp, "sum")


def _max_or_min(x: Tensor, axis: Any, keepdims: bool, reducer: Any, name: str) -> Tensor:
    axes = _normalize_axis(axis, x.ndim)
    extreme = reducer(x.data, axis=axes, keepdims=True)
    # Ties share the gradient evenly, so the VJP is a (sub)gradient whatever the tie.
    hits = (x.data == extreme).astype(x.dtype)
    share = hits / np.sum(hits, axis=axes, keepdims=True)
    kept_shape = extreme.shape

    def vjp(g: Tensor) -> tuple:
        return (broadcast_to(reshape(g, kept_shape), x.shape) * share,)

    out = extreme if keepdims else np.squeeze(extreme, axis=axes)
    return record(out, (x,), vjp, name)


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

    def vjp(g: Tensor) -> tuple:
        out_kept = reshape(out, kept_shape)
        # ∂/∂x_i log Σ exp(x) = softmax(x)_i = exp(x_i − logsumexp(x))
        return (broadcast_to(reshape(g, kept_shape), x.shape) * exp(x - out_kept),)

    value = kept if keepdims else np.squeeze(kept, axis=axes)
    out = record(value.astype(x.dtype, copy=False), (x,), vjp, "logsumexp")
    return out


# ----------------------------------------------------------------------------------------
# linear algebra
# ----------------------------------------------------------------------------------------


def _matmul_2d(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product of Tensors with ndim ≥ 2; leading (batch) dims broadcast."""
    try:
        out = np.matmul(a.data, b.data)
    except ValueError:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned "
            f"(last dim of the first, {a.shape[-1]}, must equal the second-to-last of the "
            f"second, {b.shape[-2]}; leading dims must broadcast)"
        ) from None

    def vjp(g: Tensor) -> tuple:
        grad_a = unbroadcast(g @ swapaxes(b), a.shape) if a.requires_grad else None
        grad_b = unbroadcast(swapaxes(a) @ g, b.shape) if b.requires_grad else None
        return grad_a, grad_b

    return record(out, (a, b), vjp, "matmul")


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b with NumPy's rules: 1-D operands are promoted and the added axis removed."""
    a, b = _pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: scalars are not allowed (shapes {a.shape} and {b.shape})")
    a2 = reshape(a, (1, a.shape[0])) if a.ndim == 1 else a
    b2 = reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b
    out = _matmul_2d(a2, b2)
    # Drop a's promoted row before b's column, so 1-D @ 1-D gives a 0-d result.
    if a.ndim == 1:
        out = reshape(out, out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        out = reshape(out, out.shape[:-1])
    return out


# ----------------------------------------------------------------------------------------
# shape and indexing primitives
# ----------------------------------------------------------------------------------------


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
    return record(out, (x,), lambda g: (reshape(g, source),), "reshape")


def transpose(x: Any, axes: Any = None) -> Tensor:
    """Permute axes (reverse them when ``axes`` is None), as np.transpose."""
    x = as_tensor(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(int(a) for a in axes)
    if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of a {x.ndim}-D shape")
    inverse = tuple(np.argsort([a % x.ndim for a in axes]))
    return record(np.transpose(x.data, axes), (x,), lambda g: (transpose(g, inverse),),
                  "transpose")


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """Expand size-1 (or missing leading) dims to ``shape``; VJP sums them back."""
    x = as_tensor(x)
    shape = tuple(shape)
    # A materialised copy (not np.broadcast_to's read-only view): cheaper to make for small
    # arrays and safe to write into.
    out = np.empty(shape, dtype=x.dtype)
    try:
        out[...] = x.data
    except ValueError:
        raise ValueError(f"expand: cannot broadcast shape {x.shape} to {shape}") from None
    return record(out, (x,), lambda g: (unbroadcast(g, x.shape),), "expand")


def _is_advanced(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return builtins.any(isinstance(p, (list, np.ndarray)) for p in parts)


def _plain_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(p.data if isinstance(p, Tensor) else p for p in index)
    return index


def getitem(x: Any, index: Any) -> Tensor:
    """x[index], basic or integer-array indexing; repeated indices accumulate gradient."""
    x = as_tensor(x)
    index = _plain_index(index)
    out = x.data[index]
    source_shape = x.shape
    return record(np.asarray(out), (x,),
                  lambda g: (scatter_add(g, index, source_shape),), "getitem")


def scatter_add(values: Any, index: Any, shape: tuple[int, ...]) -> Tensor:
    """zeros(shape) with ``values`` added at ``index`` (np.add.at): getitem's adjoint."""
    values = as_tensor(values)
    out = np.zeros(shape, dtype=values.dtype)
    if _is_advanced(index):
        np.add.at(out, index, values.data)
    else:
        out[index] = values.data
    return record(out, (values,), lambda g: (getitem(g, index),), "scatter_add")


def concat(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concat: needs at least one Tensor")
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = [t.shape for t in tensors]
        raise ValueError(
            f"concat: shapes {shapes} differ outside axis {axis}"
        ) from None
    ends = np.cumsum([t.shape[axis] for t in tensors])
    axis_index = axis % out.ndim

    def vjp(g: Tensor) -> tuple:
        pieces = []
        for start, stop in zip(np.concatenate([[0], ends[:-1]]), ends):
            index = (slice(None),) * axis_index + (slice(int(start), int(stop)),)
            pieces.append(getitem(g, index))
        return tuple(pieces)

    return record(out, tuple(tensors), vjp, "concat")


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """Constant padding with np.pad's ``pad_width`` (a pair per axis, or one int)."""
    x = as_tensor(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    if np.any(widths < 0):
        raise ValueError(f"pad: widths must be non-negative, got {widths.tolist()}")
    out = np.pad(x.data, widths, mode="constant", constant_values=value)
    inner = tuple(slice(int(lo), int(lo) + size) for (lo, _), size in zip(widths, x.shape))
    return record(out, (x,), lambda g: (getitem(g, inner),), "pad")


# ----------------------------------------------------------------------------------------
# composed from the primitives above (no VJP needed)
# ----------------------------------------------------------------------------------------


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
    ndim = tensors[0].ndim + 1
    axis = axis % ndim
    expanded = [reshape(t, t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors]
    return concat(expanded, axis=axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """As np.split: a number of equal sections, or the indices to cut at."""
    x = as_tensor(x)
    axis = axis % x.ndim
    size = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if size % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of size {size} does not divide into "
                f"{indices_or_sections} equal sections"
            )
        step = size // indices_or_sections
        cuts = list(range(step, size, step))
    else:
        cuts = [int(c) for c in indices_or_sections]
    bounds = zip([0] + cuts, cuts + [size])
    return [getitem(x, (slice(None),) * axis + (slice(lo, hi),)) for lo, hi in bounds]
