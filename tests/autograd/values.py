"""Input values and shape strategies shared by the autograd tests.

Hypothesis draws shapes and a seed; the values come from a NumPy generator seeded by it,
shaped so that finite differences are valid: positive where a log or sqrt needs it, and
away from every kink (relu/abs at 0, clip bounds at ±0.5, ties of max/min) by far more
than the finite-difference step.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag

seeds = st.integers(0, 2**32 - 1)
small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    min_side=1, max_side=3)

LATTICE = 0.25  # clip bounds sit on this lattice; off-lattice values stay ≥ 0.075 away


def normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


def distinct_off_lattice(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Pairwise distinct (gaps ≥ 0.15), nonzero and ≥ 0.075 from every multiple of 0.25."""
    size = int(np.prod(shape))
    ranks = rng.permutation(size) - size // 2
    jitter = rng.uniform(-0.05, 0.05, size)
    return ((ranks + 0.5) * LATTICE + jitter).reshape(shape)


def near_lattice(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Within 0.05 of a multiple of 0.25: never within 0.025 of a distinct_off_lattice value."""
    return rng.integers(-6, 7, shape) * LATTICE + rng.uniform(-0.05, 0.05, shape)


def tensor(array: np.ndarray, dtype: type = np.float64) -> ag.Tensor:
    return ag.Tensor(np.array(array, dtype=dtype), requires_grad=True)


@st.composite
def conv_settings(draw: st.DrawFn, transposed: bool = False) -> dict:
    """Shapes and hyper-parameters of a small conv2d or conv_transpose2d call."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    settings = {
        "batch": draw(st.integers(1, 2)),
        "in_channels": draw(st.integers(1, 2)),
        "out_channels": draw(st.integers(1, 2)),
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "bias": draw(st.booleans()),
    }
    if transposed:
        # Output side: padding may not exceed what the dilated kernel adds (size > 0).
        settings["padding"] = tuple(
            min(p, (d * (k - 1)) // 2) for p, d, k in zip(padding, dilation, kernel)
        )
        settings["output_padding"] = tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)
        )
        settings["size"] = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    else:
        # The padded input must hold at least one dilated kernel window.
        smallest = [max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding)]
        settings["size"] = tuple(draw(st.integers(low, low + 2)) for low in smallest)
    return settings


@st.composite
def pool_settings(draw: st.DrawFn) -> dict:
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    # torch allows padding up to half the kernel.
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    size = tuple(draw(st.integers(max(1, k - 2 * p), k + 3)) for k, p in zip(kernel, padding))
    return {
        "batch": draw(st.integers(1, 2)),
        "channels": draw(st.integers(1, 2)),
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "size": size,
    }


@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """1-D, 2-D and batched operands; batch dims broadcast against each other."""
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2))
    batch_a, batch_b = batch.input_shapes
    shape_a = (k,) if draw(st.booleans()) else batch_a + (n, k)
    shape_b = (k,) if draw(st.booleans()) else batch_b + (k, m)
    return shape_a, shape_b


@st.composite
def expandable_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(source, target): the source drops leading dims of the target and has size-1 dims."""
    target = draw(small_shapes)
    kept = draw(st.integers(0, len(target)))
    source = tuple(1 if draw(st.booleans()) else size for size in target[len(target) - kept:])
    return source, target
