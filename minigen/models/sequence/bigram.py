"""The bigram language model: a table of next-token probabilities, fitted by counting.

Idea: keep only the previous token as context (a first-order Markov chain over tokens),

    p(s) = Π_t p(s_t | s_{t−1}),   s_{−1} = the start token,

and store p(· | c) for every context c as a row of a table. Training is counting: the
maximum-likelihood row is the empirical frequency of what followed c,

    p(k | c) = (n(c, k) + α) / (n(c) + α·V)        (α = 0: the exact MLE)

with Laplace smoothing α ≥ 0 (α = 1, "add one", keeps unseen bigrams finite on test data;
it is the MAP estimate under a Dirichlet(2) prior). This is the baseline the neural models
must beat (Shannon, 1948; the counting model of Karpathy's makemore, which reports about
2.45 nats per character on the names with α = 1).

Free parameters: V − 1 per context that is ever scored. For text the end token never
serves as a context (nothing is scored after it), so the start token and the V − 1
symbols give V·(V − 1) (= 702 for names); for binary images the start token, 0 and 1 give
3·1 = 3.

Deviation from a plain bigram: the length cap of :mod:`minigen.models.sequence.base`
forces the end token at the last position; that step has probability 1 whatever the
table says, so it is not counted (the counts are then exactly the MLE of the capped model).
A context never seen with α = 0 has no MLE; its row is uniform, 1/V.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.models.base import CountsFreeParameters, TrainsItself
from minigen.nn import Parameter

from .base import State, TokenLM


class Bigram(TokenLM, TrainsItself, CountsFreeParameters):
    """Counting table p(s_t | s_{t−1}) over a (V + 1) × V table (the last row: the start).

    Parameters
    ----------
    data_shape : (T,) tokens or (1, H, W) binary images (see ``TokenLM``)
    rng : unused (the table starts uniform); accepted for the registry's protocol
    vocab_size : V for text (default 27)
    smoothing : α ≥ 0, Laplace pseudo-counts per table entry
    """

    uses_learning_rate = False

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 vocab_size: int | None = None, smoothing: float = 1.0) -> None:
        super().__init__(data_shape, vocab_size)
        if not smoothing >= 0:
            raise ValueError(f"Bigram: smoothing must be >= 0, got {smoothing}")
        self.smoothing = float(smoothing)
        contexts = self.vocab_size + 1
        self.register_buffer("counts", np.zeros((contexts, self.vocab_size)))
        self.register_buffer("log_table", np.full((contexts, self.vocab_size),
                                                  -np.log(self.vocab_size)))

    def num_free_parameters(self) -> int:
        contexts = self.vocab_size if self.has_end_token else self.vocab_size + 1
        return contexts * (self.vocab_size - 1)

    # ----- counting --------------------------------------------------------------------
    def _counted(self, tokens: np.ndarray) -> np.ndarray:
        """(N, T) bool: scored positions, less the forced end token of the cap."""
        counted = self.scored(tokens)
        if self.has_end_token:
            counted[:, -1] = False
        return counted

    def count(self, x: Any) -> None:
        """Add the bigrams (context, next) of x to the counts and refit the table."""
        tokens = self.tokens(x)
        counted = self._counted(tokens)
        np.add.at(self.counts, (self.shifted(tokens)[counted], tokens[counted]), 1.0)
        totals = self.counts.sum(axis=1, keepdims=True) + self.smoothing * self.vocab_size
        seen = totals > 0
        probs = np.where(seen, (self.counts + self.smoothing) / np.where(seen, totals, 1.0),
                         1.0 / self.vocab_size)  # p(k | c) = (n(c,k) + α) / (n(c) + α V)
        with np.errstate(divide="ignore"):
            self.log_table = np.log(probs)

    def fit(self, x: Any) -> Bigram:
        """Maximum likelihood on all of x at once (forgets earlier counts)."""
        self.counts = np.zeros_like(self.counts)
        self.count(x)
        return self

    def players(self) -> dict[str, list[Parameter]]:
        return {}  # counting needs no optimiser

    def train_step(self, x: Any, rng: np.random.Generator | None = None,
                   **conditions: Any) -> dict[str, float]:
        """Count the batch into the table; returns the batch's NLL after the update."""
        self.count(x)
        return {"loss": float(-self.log_prob(x).mean())}

    # ----- the network the base class drives ---------------------------------------
    def network_logits(self, inputs: np.ndarray | Tensor,
                       rng: np.random.Generator | None = None) -> Tensor:
        return self.lookup(Tensor(self.log_table), inputs)  # l_t = log p(· | s_{t−1})

    def start_state(self, n: int) -> State:
        return None

    def step(self, inputs: np.ndarray, state: State) -> tuple[Tensor, State]:
        return Tensor(self.log_table[inputs]), None

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, smoothing={self.smoothing}"
