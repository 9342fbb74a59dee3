"""The Distribution base class and the helpers every distribution shares.

Parameters may be Tensors (gradients flow into them), arrays or numbers. They are turned
into Tensors of one floating dtype: the dtype of the floating arrays, Tensors and NumPy
scalars among them (float32 stays float32), or float32 when every parameter is a Python
number, a list or an integer array. Values passed to
``log_prob`` are converted to that dtype too, so the result's dtype is the distribution's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor


class Distribution:
    """Base class: ``batch_shape``, ``dtype``, ``log_prob``, ``sample``, ``entropy``."""

    batch_shape: tuple[int, ...]
    dtype: np.dtype

    def log_prob(self, value: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define log_prob")

    def sample(self, rng: np.random.Generator, sample_shape: tuple[int, ...] = ()) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define sample")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no closed-form entropy")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_shape={self.batch_shape}, dtype={self.dtype})"


def _floating_dtype(values: list[Any]) -> np.dtype:
    dtypes = [v.dtype for v in values
              if isinstance(v, (Tensor, np.ndarray, np.generic))
              and np.issubdtype(v.dtype, np.floating)]
    return np.result_type(*dtypes) if dtypes else np.dtype(np.float32)


def as_parameters(owner: str, **named: Any) -> list[Tensor]:
    """Named parameters as Tensors of one common floating dtype (see the module docstring)."""
    for name, value in named.items():
        if value is None:
            raise TypeError(f"{owner}: {name} is required, got None")
        if isinstance(value, (str, bytes)) or (
            not isinstance(value, Tensor) and np.asarray(value).dtype.kind not in "biuf"
        ):
            raise TypeError(f"{owner}: {name} must be a Tensor, array or number, got "
                            f"{type(value).__name__}")
    dtype = _floating_dtype(list(named.values()))
    return [to_dtype(value, dtype) for value in named.values()]


def to_dtype(value: Any, dtype: np.dtype) -> Tensor:
    """``value`` as a Tensor of ``dtype``; a Tensor is cast inside the graph (keeps grads)."""
    if isinstance(value, Tensor):
        return value if value.dtype == dtype else ag.astype(value, dtype)
    return Tensor(np.asarray(value, dtype=dtype))


def broadcast_shapes(owner: str, **shapes: tuple[int, ...]) -> tuple[int, ...]:
    """np.broadcast_shapes, with an error naming every argument and its shape."""
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{owner}: shapes do not broadcast together: {listed}") from None


def sample_shape_of(owner: str, sample_shape: Any) -> tuple[int, ...]:
    shape = (sample_shape,) if isinstance(sample_shape, (int, np.integer)) else sample_shape
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(
            f"{owner}: sample_shape must be an int or a tuple of ints, got {sample_shape!r}"
        ) from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{owner}: sample_shape must be non-negative, got {shape}")
    return shape


def value_tensor(owner: str, value: Any, dtype: np.dtype,
                 batch_shape: tuple[int, ...]) -> Tensor:
    """A value for ``log_prob`` as a Tensor of ``dtype`` that broadcasts with the batch."""
    tensor = to_dtype(value, dtype)
    try:
        np.broadcast_shapes(tensor.shape, batch_shape)
    except ValueError:
        raise ValueError(
            f"{owner}: value of shape {tensor.shape} does not broadcast with the batch "
            f"shape {batch_shape}"
        ) from None
    return tensor
