"""Mini-batches over aligned arrays, like torch.utils.data.DataLoader over a TensorDataset."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator

import numpy as np


class DataLoader:
    """Iterate over aligned mini-batches of one or more arrays.

    Parameters
    ----------
    *arrays : each (N, ...); row i of every array belongs to example i
    batch_size : examples per batch (the last batch may be smaller)
    shuffle : visit the examples in a new random order every epoch, drawn from ``rng``
    rng : numpy Generator, required when ``shuffle`` is true
    drop_last : skip the final batch when it has fewer than ``batch_size`` examples

    Iterating yields one array (batch_size, ...) when built from a single array, else a
    tuple with one batch per array. ``len(loader)`` is the number of batches per epoch.

    Examples
    --------
    >>> images, labels = np.zeros((10, 1, 8, 8)), np.arange(10)
    >>> loader = DataLoader(images, labels, batch_size=4)
    >>> [len(batch_labels) for _, batch_labels in loader]
    [4, 4, 2]
    """

    def __init__(
        self,
        *arrays: np.ndarray,
        batch_size: int = 64,
        shuffle: bool = False,
        rng: np.random.Generator | None = None,
        drop_last: bool = False,
    ) -> None:
        if not arrays:
            raise ValueError("DataLoader needs at least one array")
        self.arrays = tuple(np.asarray(array) for array in arrays)
        if any(array.ndim == 0 for array in self.arrays):
            shapes = [array.shape for array in self.arrays]
            raise ValueError(f"every array needs a first (example) dimension; got {shapes}")
        lengths = [len(array) for array in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"arrays must have the same first dimension; got lengths {lengths}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"batch_size must be an int; got {type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}")
        if shuffle and not isinstance(rng, np.random.Generator):
            raise ValueError(
                "shuffle=True needs rng=np.random.default_rng(seed) so the order is "
                f"reproducible; got rng={rng!r}"
            )
        self.num_examples = lengths[0]
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.rng = rng
        self.drop_last = drop_last

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_examples // self.batch_size
        return math.ceil(self.num_examples / self.batch_size)

    def __iter__(self) -> Iterator[np.ndarray | tuple[np.ndarray, ...]]:
        if self.shuffle:
            order = self.rng.permutation(self.num_examples)
        else:
            order = np.arange(self.num_examples)
        for batch_number in range(len(self)):
            indices = order[batch_number * self.batch_size : (batch_number + 1) * self.batch_size]
            batch = tuple(array[indices] for array in self.arrays)
            yield batch[0] if len(batch) == 1 else batch
