"""Bars and stripes: the classic tiny binary data set with an exactly known likelihood.

On an n × n grid a "stripes" pattern switches whole rows on or off (2^n patterns) and a
"bars" pattern whole columns (2^n patterns). The empty and the full image belong to both
families, so there are M = 2^(n+1) − 2 distinct patterns. The data distribution is
uniform over them, so a perfect model reaches log p(x) = −log M on every pattern
(MacKay, *Information Theory, Inference and Learning Algorithms*, 2003).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from minigen.checks import check_rng


def _check_grid_size(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}")


def num_bars_and_stripes(n: int) -> int:
    """M = 2^(n+1) − 2, the number of distinct patterns on an n × n grid."""
    _check_grid_size(n)
    return 2 ** (n + 1) - 2


def bars_and_stripes_patterns(n: int) -> np.ndarray:
    """All distinct bars-and-stripes patterns on an n × n grid, each listed once.

    Returns
    -------
    (M, n*n) uint8 in {0, 1}, M = 2^(n+1) − 2, images flattened row-major: first the 2^n
    stripes (row r on iff bit r of the pattern index), then the bars other than the empty
    and the full image, which are already among the stripes.
    """
    _check_grid_size(n)
    subsets = np.arange(2**n)
    # on[s, i] = bit i of s: which rows (stripes) or columns (bars) subset s switches on
    on = ((subsets[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    stripes = np.repeat(on[:, :, None], n, axis=2)
    bars = np.repeat(on[:, None, :], n, axis=1)
    mixed_bars = bars[1:-1]  # drop subset 0 (empty) and 2^n − 1 (full)
    patterns = np.concatenate([stripes, mixed_bars])
    return patterns.reshape(len(patterns), n * n)


def _as_square_images(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[1] == 1 and x.shape[2] == x.shape[3]:
        return x[:, 0]
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side == x.shape[1] and side > 0:
            return x.reshape(len(x), side, side)
    raise ValueError(f"x must have shape (N, n*n) or (N, 1, n, n); got {x.shape}")


def bars_and_stripes_log_prob(x: np.ndarray) -> np.ndarray:
    """Exact log-probability under the uniform distribution over the M patterns.

    Parameters
    ----------
    x : (N, n*n) or (N, 1, n, n) images

    Returns
    -------
    (N,) float64: −log M for a bars-and-stripes pattern, −inf for anything else
    (including non-binary values).
    """
    images = _as_square_images(x)
    side = images.shape[1]
    binary = np.all((images == 0) | (images == 1), axis=(1, 2))
    rows_constant = np.all(images == images[:, :, :1], axis=(1, 2))
    columns_constant = np.all(images == images[:, :1, :], axis=(1, 2))
    member = binary & (rows_constant | columns_constant)
    return np.where(member, -np.log(num_bars_and_stripes(side)), -np.inf)


def sample_bars_and_stripes(
    num: int, n: int, rng: np.random.Generator, dtype=np.float32
) -> np.ndarray:
    """Draw ``num`` patterns uniformly (with replacement) from the M patterns.

    Returns
    -------
    (num, 1, n, n) array of ``dtype`` in {0, 1}
    """
    check_rng("sample_bars_and_stripes", rng)
    if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 0:
        raise ValueError(f"num must be an int >= 0; got {num!r}")
    patterns = bars_and_stripes_patterns(n)
    chosen = rng.integers(len(patterns), size=num)
    return patterns[chosen].reshape(num, 1, n, n).astype(dtype)
