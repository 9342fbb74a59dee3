"""Embedding: a learnable lookup table from integer ids to vectors (torch.nn.Embedding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.checks import check_rng

from .module import Module, Parameter


class Embedding(Module):
    """Row ``i`` of ``weight`` is the vector of id ``i``.

    ``weight : (num_embeddings, embedding_dim)``, initialised N(0, 1) as torch. Looking up
    is integer indexing, so the gradient of a row used several times in a batch is the sum
    of its uses (``np.add.at`` semantics).

    Parameters
    ----------
    num_embeddings : int
        Size of the vocabulary (ids run 0 … num_embeddings − 1).
    embedding_dim : int
        Length of each vector.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        check_rng("Embedding", rng)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        table = rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype)
        self.weight = Parameter(table)

    def forward(self, indices: Any) -> Tensor:
        """indices : (...) integer ids -> (..., embedding_dim)."""
        ids = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(
                f"Embedding: indices must be an integer array, got dtype {ids.dtype} "
                f"(shape {ids.shape})"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(
                f"Embedding({self.num_embeddings}, {self.embedding_dim}): indices must lie "
                f"in [0, {self.num_embeddings - 1}], got values in "
                f"[{ids.min()}, {ids.max()}]"
            )
        return self.weight[ids]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
