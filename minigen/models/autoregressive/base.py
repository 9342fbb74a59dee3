"""The bases every autoregressive model here shares: p(x) = Π_i p(x_i | x_<i).

* :class:`AutoregressiveVectorModel` (FVSBN, NADE, RNADE, MADE): input checks, the exact
  log-likelihood, loss, sampling and completion, in terms of two methods each model
  defines over the flattened (raster-order) dimensions;
* :func:`sample_raster` and :class:`AutoregressiveImageModel` (PixelCNN, Gated PixelCNN,
  Row LSTM, Diagonal BiLSTM): the pixel-by-pixel sampler and the loss / log_prob / sample /
  complete every raster-order Bernoulli image model shares, in terms of ``logits``.

They are model bases, not layers, so they live with the models (the masked layers they use
are in ``minigen.nn``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.base import Autoregressive
from minigen.nn.losses import bernoulli_log_likelihood


class AutoregressiveVectorModel(Autoregressive):
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


def sample_raster(
    logits_fn: Callable[[np.ndarray], Tensor],
    images: np.ndarray,
    first_pixel: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw pixels ``first_pixel, first_pixel + 1, …`` (raster index) of ``images`` in order.

    images : (N, 1, H, W), modified in place and returned; pixels before ``first_pixel``
    are the given context. Each step recomputes every logit with ``logits_fn`` and draws
    x_ij ~ Bernoulli(σ(l_ij)); a causal model's l_ij depends on the pixels already drawn only.
    """
    height, width = images.shape[2:]
    with ag.no_grad():
        for index in range(first_pixel, height * width):
            i, j = divmod(index, width)
            logit = logits_fn(images).data[:, 0, i, j].astype(np.float64)
            probability = 1 / (1 + np.exp(-logit))  # p(x_ij = 1 | x_<ij) = σ(l_ij)
            images[:, 0, i, j] = rng.random(len(images)) < probability
    return images


class AutoregressiveImageModel(Autoregressive):
    """Base of the raster-order Bernoulli image models: everything but ``logits``.

    A subclass sets ``self.data_shape = (1, H, W)`` and defines ``logits(x)`` : (N, 1, H, W)
    -> (N, 1, H, W) with l_ij a function of the pixels before (i, j) in raster order only.
    Then, exactly,

        log p(x) = Σ_ij [x_ij l_ij − softplus(l_ij)],

    ``loss`` is its negative mean over the batch, ``sample`` draws pixel by pixel and
    ``complete`` draws the lower half given the upper half.
    """

    data_shape: tuple[int, int, int]

    def logits(self, x: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define logits()")

    @staticmethod
    def check_data_shape(data_shape: Any, model: str) -> tuple[int, int, int]:
        shape = tuple(int(s) for s in data_shape)
        if len(shape) != 3 or shape[0] != 1 or min(shape) < 1:
            raise ValueError(
                f"{model}: data_shape must be (1, H, W) (one binary channel); got {data_shape!r}"
            )
        return shape  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        return self.parameters()[0].dtype

    def images(self, x: Any, name: str = "x") -> Tensor:
        """``x`` as a Tensor of the model's dtype, checked to be (N, 1, H, W)."""
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.dtype))
        if x.ndim != 4 or x.shape[1:] != self.data_shape:
            raise ValueError(
                f"{type(self).__name__}: {name} must have shape (N, *{self.data_shape}); "
                f"got {x.shape}"
            )
        return x

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """Mean negative log-likelihood in nats per image. x : (N, 1, H, W) in {0, 1}."""
        x = self.images(x)
        # NLL(x) = −Σ_ij [x_ij l_ij − softplus(l_ij)]
        return -bernoulli_log_likelihood(x, self.logits(x)).sum(axis=(1, 2, 3)).mean()

    def log_prob(self, x: Any) -> np.ndarray:
        """Exact log p(x) in nats, shape (N,). x : (N, 1, H, W) in {0, 1}."""
        with ag.no_grad():
            x = self.images(x)
            per_pixel = bernoulli_log_likelihood(x, self.logits(x))
        return per_pixel.data.sum(axis=(1, 2, 3), dtype=np.float64)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n images (n, 1, H, W) in {0, 1}, drawn pixel by pixel in raster order."""
        images = np.zeros((int(n), *self.data_shape), dtype=self.dtype)
        return sample_raster(self.logits, images, 0, rng)

    def complete(self, x_top: Any, rng: np.random.Generator) -> np.ndarray:
        """Keep the top H // 2 rows of ``x_top`` and draw the rest from p(x_rest | x_top).

        x_top : (N, 1, H // 2, W) upper halves, or (N, 1, H, W) images whose lower half is
        ignored. Returns (N, 1, H, W).
        """
        _, height, width = self.data_shape
        top = np.asarray(x_top, dtype=self.dtype)
        if top.ndim != 4 or top.shape[1] != 1 or top.shape[3] != width or top.shape[2] not in (
            height // 2, height
        ):
            raise ValueError(
                f"{type(self).__name__}.complete: x_top must be (N, 1, {height // 2}, {width}) "
                f"or (N, 1, {height}, {width}); got {top.shape}"
            )
        images = np.zeros((len(top), *self.data_shape), dtype=self.dtype)
        images[:, :, : height // 2] = top[:, :, : height // 2]
        return sample_raster(self.logits, images, (height // 2) * width, rng)
