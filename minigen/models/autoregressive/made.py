"""MADE: the masked autoencoder for distribution estimation, with an ensemble of orderings.

Idea: an ordinary MLP from x to D logits becomes autoregressive when each weight matrix
is multiplied by a 0/1 mask that lets output i see only the inputs before i in an ordering
(Germain, Gregor, Murray & Larochelle, 2015, "MADE: Masked Autoencoder for Distribution
Estimation", ICML). The masks come from degrees (see minigen.nn.masked): inputs carry
their position in the ordering, hidden units a random degree, and a connection is kept
only where degrees do not decrease (strictly increase into the outputs). One forward pass
then gives every conditional:

    p(x_d = 1 | x_{o<o(d)}) = σ(l_d),   l = MLP_masked(x)   (ReLU hidden units)

Objective: the exact negative log-likelihood −log p(x) = −Σ_d [x_d l_d − softplus(l_d)].

Connectivity- and order-agnostic training: K mask sets (with ``ordering="random"`` each
has its own random ordering; with "natural" only the hidden connectivity differs) are
drawn once from a seed stored in the model; training cycles through them, one mask per
training step (the trainer calls ``after_step``). The model the K masks define together is
their uniform mixture, evaluated exactly as the log of the mean of the K likelihoods,

    log p(x) = logsumexp_k log p_k(x) − log K,

never as an average of logits (that would not be a normalised distribution).

Deviations: no direct input-to-output connections (optional in the paper). The degrees of
every mask set are buffers, so a checkpoint rebuilds exactly the same K masks, and each
layer's current mask is a buffer too.

Ordering: images (N, 1, H, W) are flattened row-major to D dims; the ordering is over
those dims (natural = raster order). Binary data: x ∈ {0, 1}. ``complete`` comes from
:class:`minigen.models.autoregressive.base.AutoregressiveVectorModel` and uses the current mask set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.distributions import Bernoulli
from minigen.models.autoregressive.base import AutoregressiveVectorModel
from minigen.models.base import ReportsMetrics
from minigen.nn.masked import (
    MaskedLinear,
    hidden_degrees,
    made_masks,
    ordering_degrees,
)
from minigen.nn.module import Sequential


class MADE(AutoregressiveVectorModel, ReportsMetrics):
    """Masked MLP over D binary dimensions with K cycled masks / orderings.

    Parameters
    ----------
    data_shape : one example's shape, (1, H, W) or (D,)
    rng : draws the initial weights and the seed of the masks
    hidden : widths of the hidden layers (any number, including none)
    num_masks : K, the number of mask sets cycled in training and averaged in log_prob
    ordering : "natural" (raster) or "random" (one random ordering per mask set)
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        hidden: Sequence[int] = (500,),
        num_masks: int = 8,
        ordering: str = "random",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        widths = [int(size) for size in hidden]
        if any(size < 1 for size in widths):
            raise ValueError(f"MADE: hidden must be ints >= 1, got {hidden}")
        if isinstance(num_masks, bool) or int(num_masks) != num_masks or num_masks < 1:
            raise ValueError(f"MADE: num_masks must be an int >= 1, got {num_masks!r}")
        if ordering not in ("natural", "random"):
            raise ValueError(f"MADE: ordering must be 'natural' or 'random', got {ordering!r}")
        self.set_data_shape(data_shape)
        self.hidden, self.num_masks, self.ordering = widths, int(num_masks), ordering
        sizes = [self.num_dims, *widths, self.num_dims]
        self.layers = Sequential(*[MaskedLinear(a, b, rng=rng, dtype=dtype)
                                   for a, b in zip(sizes, sizes[1:])])
        # The K degree sets come from their own seeded stream, kept as buffers.
        self.register_buffer("mask_seed", np.array(rng.integers(2**62), dtype=np.int64))
        mask_rng = np.random.default_rng(int(self.mask_seed))
        inputs, degrees_per_layer = [], [[] for _ in widths]
        for _ in range(self.num_masks):
            inputs.append(ordering_degrees(self.num_dims, ordering, mask_rng))
            for layer, degrees in enumerate(hidden_degrees(inputs[-1], widths, mask_rng)):
                degrees_per_layer[layer].append(degrees)
        self.register_buffer("input_degrees", np.stack(inputs))  # (K, D) positions 1..D
        for layer, degrees in enumerate(degrees_per_layer):
            self.register_buffer(f"hidden_degrees{layer}", np.stack(degrees))  # (K, H_l)
        self.register_buffer("mask_index", np.array(0, dtype=np.int64))
        self.use_mask(0)

    def use_mask(self, k: int) -> None:
        """Switch every layer to mask set k (0 ≤ k < K)."""
        if not 0 <= k < self.num_masks:
            raise ValueError(f"MADE.use_mask: k must be in [0, {self.num_masks}), got {k}")
        hidden = [getattr(self, f"hidden_degrees{layer}")[k]
                  for layer in range(len(self.hidden))]
        for layer, mask in zip(self.layers, made_masks(self.input_degrees[k], hidden)):
            layer.set_mask(mask)
        self.mask_index = np.array(k, dtype=np.int64)

    def _each_mask(self) -> Iterator[int]:
        """Yield k = 0..K−1 with mask set k in use; the current mask is restored after."""
        current = int(self.mask_index)
        try:
            for k in range(self.num_masks):
                self.use_mask(k)
                yield k
        finally:
            self.use_mask(current)

    @property
    def order(self) -> np.ndarray:
        """(D,) the dimensions in the order the current mask generates them."""
        return np.argsort(self.input_degrees[int(self.mask_index)], kind="stable")

    def logits(self, x: Any) -> Tensor:
        """Logits under the current mask.  x : (N, *data_shape) -> (N, D).

        Column d is the logit of x_d given the dims before d in :attr:`order` (the columns
        stay in data order, not in generation order).
        """
        return self._logits(self.flatten(x))

    def _logits(self, hidden: Tensor) -> Tensor:
        for index in range(len(self.layers) - 1):
            hidden = ag.relu(self.layers[index](hidden))
        return self.layers[-1](hidden)

    def _log_prob_tensor(self, flat: Tensor) -> Tensor:
        # log p(x) = Σ_d log Bernoulli(x_d; σ(l_d)) = Σ_d [x_d l_d − softplus(l_d)]
        return Bernoulli(self._logits(flat)).log_prob(flat).sum(axis=1)

    def log_prob(self, x: Any, ensemble: bool = True) -> np.ndarray:
        """Exact log p(x) in nats.  x : (N, *data_shape) -> (N,).

        ensemble=True: the mixture of the K mask sets, logsumexp_k log p_k(x) − log K;
        ensemble=False: the current mask set only.
        """
        if not ensemble or self.num_masks == 1:
            return super().log_prob(x)
        per_mask = np.stack([super(MADE, self).log_prob(x) for _ in self._each_mask()])
        # log (1/K) Σ_k p_k(x) = logsumexp_k log p_k(x) − log K
        return ag.logsumexp(Tensor(per_mask), axis=0).data - np.log(self.num_masks)

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Mean NLL (nats) of each mask set alone, averaged over the K sets: what one
        ordering achieves, to set beside the ensemble's ``log_prob`` NLL."""
        single = [-np.mean(self.log_prob(x, ensemble=False)) for _ in self._each_mask()]
        return {"nll_single_mask": float(np.mean(single))}

    def after_step(self) -> None:
        """After each training step move to the next mask set of the cycle (the cycle is
        fixed by the stored seed); ``loss`` itself always uses the current mask."""
        if self.num_masks > 1:
            self.use_mask((int(self.mask_index) + 1) % self.num_masks)

    def _fill(self, flat: np.ndarray, num_given: int, rng: np.random.Generator) -> np.ndarray:
        """Sample every dim d ≥ num_given in the current order, each given the dims before
        it in that order; the first ``num_given`` dims are held as they are. That is exact
        conditional sampling when they come first in the order (natural ordering) and only
        an approximation of p(rest | given) otherwise."""
        with ag.no_grad():
            for d in self.order:
                if d >= num_given:
                    logit = self._logits(Tensor(flat)).data[:, d]
                    flat[:, d] = Bernoulli(logit).sample(rng)
        return flat

    def sample(self, n: int, rng: np.random.Generator, ensemble: bool = True) -> np.ndarray:
        """n samples (n, *data_shape) in {0, 1}, drawn dimension by dimension in the
        ordering; with ``ensemble`` each from a uniformly chosen mask set (the mixture that
        ``log_prob(x, ensemble=True)`` evaluates), else from the current mask set."""
        if not ensemble or self.num_masks == 1:
            return super().sample(n, rng)
        samples = np.zeros((int(n), *self.data_shape), self.dtype)
        choice = rng.integers(self.num_masks, size=int(n))
        for k in self._each_mask():
            samples[choice == k] = super().sample(int(np.sum(choice == k)), rng)
        return samples

    def extra_repr(self) -> str:
        return (f"num_dims={self.num_dims}, hidden={self.hidden}, "
                f"num_masks={self.num_masks}, ordering={self.ordering!r}")
