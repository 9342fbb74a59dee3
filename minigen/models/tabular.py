"""Counting models: how many numbers it takes to write down p(x) over discrete pixels.

The course's first lesson. A distribution over n binary pixels is a table, and the
assumptions we make about it decide how big that table is:

========================  ==================================  =============================
model                     factorisation (pixels x_0 … x_n−1)  free parameters
========================  ==================================  =============================
``JointTable``            one table over all 2^n images       2^n − 1
``ChainRuleTables``       p(x_0) Π_i p(x_i | x_0 … x_i−1)     1 + 2 + … + 2^(n−1) = 2^n − 1
``IndependentBernoulli``  Π_i p(x_i)                          n
``MarkovChain``           p(x_0) Π_i p(x_i | x_i−1)           1 + 2(n − 1) = 2n − 1
``RGBPixelJoint``         one pixel's (r, g, b) as a table    256³ − 1
========================  ==================================  =============================

The chain rule alone saves nothing (it is exact, so it must be able to express every
table); conditional independence (independence, or the Markov assumption) is what cuts
2^n to n or 2n − 1, at the price of what the model can express.

Pixel order: images are flattened row-major (``x.reshape(N, -1)``), so for an 8×8 digit
pixel i is row i // 8, column i % 8, and the Markov chain's "previous pixel" of the first
pixel of a row is the last pixel of the row above.

Training is counting. Maximum likelihood sets each probability to an empirical frequency,
(count + α) / (total + α·K) with Laplace smoothing α ≥ 0 over K outcomes. ``fit`` counts a
whole data set at once; ``train_step`` adds a batch to running counts and refits, so
``minigen train`` works unchanged (one epoch sees every example once; more epochs count
the data again, which leaves the α = 0 estimate unchanged). A conditional whose context
never occurred has no maximum-likelihood value (the likelihood does not depend on it);
we set it to 1/2 there.

The models are Modules without trainable Parameters: their probabilities are buffers
(saved in ``state_dict``), and ``free_parameters()`` returns exactly the free entries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.checks import check_rng
from minigen.models.base import CountsFreeParameters, ExplicitDensity, TrainsItself
from minigen.nn import Parameter

MAX_TABLE_PIXELS = 20  # 2^20 − 1 ≈ 10^6 entries; every extra pixel doubles the table


def _check_table_size(num_pixels: int, name: str) -> None:
    if num_pixels > MAX_TABLE_PIXELS:
        raise ValueError(
            f"{name}: data_shape has n = {num_pixels} pixels, so the table needs 2^n − 1 = "
            f"{2**num_pixels - 1:,} free parameters; refusing n > {MAX_TABLE_PIXELS}. This "
            "exponential growth is the point of the lesson: use IndependentBernoulli or "
            "MarkovChain (or an autoregressive network) for larger images"
        )


def _frequency(ones: np.ndarray, totals: np.ndarray, smoothing: float, outcomes: int) -> np.ndarray:
    """(count + α) / (total + α·K); 1/K where the context was never seen and α = 0."""
    denominator = totals + smoothing * outcomes
    seen = denominator > 0
    safe = np.where(seen, denominator, 1.0)
    return np.where(seen, (ones + smoothing) / safe, 1.0 / outcomes)


def _bernoulli_log_prob(bits: np.ndarray, probs_one: np.ndarray) -> np.ndarray:
    """log p where the bit is 1, log(1 − p) where it is 0 (no 0·(−inf) = nan)."""
    with np.errstate(divide="ignore"):
        return np.where(bits == 1, np.log(probs_one), np.log1p(-probs_one))


class _CountingModel(TrainsItself, ExplicitDensity, CountsFreeParameters):
    """The protocol shared by the counting models: fit, train_step, loss, shapes.

    Counting is their training (no players, no optimiser, no learning rate).
    """

    binary_data = True

    formula_text = ""
    uses_learning_rate = False

    def __init__(self, data_shape: tuple[int, ...], smoothing: float) -> None:
        super().__init__()
        if smoothing < 0:
            raise ValueError(f"{type(self).__name__}: smoothing must be >= 0, got {smoothing}")
        self.data_shape = tuple(int(d) for d in data_shape)
        self.num_pixels = int(np.prod(self.data_shape))
        if self.num_pixels < 1:
            raise ValueError(f"{type(self).__name__}: data_shape {data_shape} has no pixels")
        self.smoothing = float(smoothing)

    def formula(self) -> str:
        """The parameter count as a formula in n (the number of pixels)."""
        return self.formula_text

    def free_parameters(self) -> np.ndarray:
        """The stored free entries, flattened (their number is ``num_free_parameters()``)."""
        raise NotImplementedError

    def _flatten(self, x: Any) -> np.ndarray:
        """x : (N, *data_shape) or (N, n) with values in {0, 1} -> (N, n) int64, row-major."""
        return self.examples(x, flat=True).data.astype(np.int64)

    def fit(self, x: Any, smoothing: float = 0.0) -> _CountingModel:
        """Maximum likelihood by counting ``x`` (forgets earlier counts)."""
        if smoothing < 0:
            raise ValueError(f"{type(self).__name__}.fit: smoothing must be >= 0, got {smoothing}")
        self.smoothing = float(smoothing)
        self._reset_counts()
        self._count(self._flatten(x))
        self._refit()
        return self

    def train_step(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Add the batch to the running counts and refit; returns the batch's NLL (nats)."""
        self._count(self._flatten(x))
        self._refit()
        return {"loss": float(-np.mean(self.log_prob(x)))}

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """Mean negative log-likelihood in nats, as a (constant) Tensor."""
        return Tensor(np.asarray(-np.mean(self.log_prob(x))))

    def players(self) -> dict[str, list[Parameter]]:
        """None: counting needs no optimiser."""
        return {}

    def _unflatten(self, bits: np.ndarray) -> np.ndarray:
        return bits.reshape(len(bits), *self.data_shape).astype(np.float32)

    def _reset_counts(self) -> None:
        raise NotImplementedError

    def _count(self, bits: np.ndarray) -> None:
        raise NotImplementedError

    def _refit(self) -> None:
        raise NotImplementedError


def _state_index(bits: np.ndarray) -> np.ndarray:
    """Read each row of bits as a binary number, pixel 0 the most significant bit."""
    weights = 1 << np.arange(bits.shape[1] - 1, -1, -1, dtype=np.int64)
    return bits @ weights


class JointTable(_CountingModel):
    """p(x) stored as one probability per image: 2^n entries summing to 1, 2^n − 1 free.

    Entry s is the image whose row-major bits, pixel 0 first, spell s in binary.
    """

    formula_text = "2^n - 1"

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 smoothing: float = 0.0) -> None:
        super().__init__(data_shape, smoothing)
        _check_table_size(self.num_pixels, "JointTable")
        rng = check_rng("JointTable", rng)
        weights = rng.standard_exponential(2**self.num_pixels)
        self.register_buffer("probs", weights / weights.sum())  # a Dirichlet(1) draw
        self._reset_counts()

    def num_free_parameters(self) -> int:
        return 2**self.num_pixels - 1

    def free_parameters(self) -> np.ndarray:
        return self.probs[:-1]  # the last entry is 1 − Σ of the others

    def _reset_counts(self) -> None:
        self.register_buffer("counts", np.zeros(2**self.num_pixels))

    def _count(self, bits: np.ndarray) -> None:
        self.counts += np.bincount(_state_index(bits), minlength=len(self.counts))

    def _refit(self) -> None:
        total = self.counts.sum() + self.smoothing * len(self.counts)
        if total == 0:
            raise ValueError("JointTable: no data counted and smoothing = 0; nothing to fit")
        self.probs = (self.counts + self.smoothing) / total  # p(s) = (c_s + α) / (N + α·2^n)

    def log_prob(self, x: Any) -> np.ndarray:
        """x : (N, *data_shape) binary -> (N,) exact log p(x) in nats."""
        with np.errstate(divide="ignore"):
            return np.log(self.probs[_state_index(self._flatten(x))])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, *data_shape) float32 binary images drawn from the table."""
        states = check_rng("JointTable.sample", rng).choice(len(self.probs), size=n,
                                                            p=self.probs)
        bits = (states[:, None] >> np.arange(self.num_pixels - 1, -1, -1)) & 1
        return self._unflatten(bits)


class ChainRuleTables(_CountingModel):
    """p(x) = Π_i p(x_i | x_<i), each conditional a table over its 2^i contexts.

    The tables are stored in one flat array of 1 + 2 + … + 2^(n−1) = 2^n − 1 entries:
    ``probs_one[2^i − 1 + c]`` = p(x_i = 1 | x_<i = c), where the context c reads
    x_0 … x_{i−1} as a binary number, x_0 the most significant bit (a binary tree laid out
    level by level).
    """

    formula_text = "2^n - 1"

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 smoothing: float = 0.0) -> None:
        super().__init__(data_shape, smoothing)
        _check_table_size(self.num_pixels, "ChainRuleTables")
        rng = check_rng("ChainRuleTables", rng)
        self.register_buffer("probs_one", rng.uniform(size=2**self.num_pixels - 1))
        self._reset_counts()

    def num_free_parameters(self) -> int:
        return sum(2**i for i in range(self.num_pixels))  # 1 + 2 + … + 2^(n−1)

    def free_parameters(self) -> np.ndarray:
        return self.probs_one

    def _table_positions(self, bits: np.ndarray) -> np.ndarray:
        """(N, n): where each pixel's conditional p(x_i = 1 | x_<i) sits in ``probs_one``."""
        positions = np.empty_like(bits)
        context = np.zeros(len(bits), dtype=np.int64)
        for i in range(self.num_pixels):
            positions[:, i] = 2**i - 1 + context
            context = 2 * context + bits[:, i]
        return positions

    def _reset_counts(self) -> None:
        self.register_buffer("ones", np.zeros(2**self.num_pixels - 1))
        self.register_buffer("totals", np.zeros(2**self.num_pixels - 1))

    def _count(self, bits: np.ndarray) -> None:
        positions = self._table_positions(bits).ravel()
        self.ones += np.bincount(positions, weights=bits.ravel(), minlength=len(self.ones))
        self.totals += np.bincount(positions, minlength=len(self.totals))

    def _refit(self) -> None:
        # p(x_i = 1 | c) = (#(c, 1) + α) / (#c + 2α)
        self.probs_one = _frequency(self.ones, self.totals, self.smoothing, 2)

    def log_prob(self, x: Any) -> np.ndarray:
        """x : (N, *data_shape) binary -> (N,) exact log p(x) = Σ_i log p(x_i | x_<i)."""
        bits = self._flatten(x)
        probs = self.probs_one[self._table_positions(bits)]
        return _bernoulli_log_prob(bits, probs).sum(axis=1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, *data_shape) float32: pixels drawn in order, each from its conditional."""
        rng = check_rng("ChainRuleTables.sample", rng)
        bits = np.zeros((n, self.num_pixels), dtype=np.int64)
        context = np.zeros(n, dtype=np.int64)
        for i in range(self.num_pixels):
            bits[:, i] = rng.uniform(size=n) < self.probs_one[2**i - 1 + context]
            context = 2 * context + bits[:, i]
        return self._unflatten(bits)


class IndependentBernoulli(_CountingModel):
    """p(x) = Π_i Bernoulli(x_i; p_i): n free parameters, no pixel knows about another."""

    formula_text = "n"

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 smoothing: float = 1.0) -> None:
        super().__init__(data_shape, smoothing)
        rng = check_rng("IndependentBernoulli", rng)
        self.register_buffer("probs_one", rng.uniform(size=self.num_pixels))
        self._reset_counts()

    def num_free_parameters(self) -> int:
        return self.num_pixels

    def free_parameters(self) -> np.ndarray:
        return self.probs_one

    def _reset_counts(self) -> None:
        self.register_buffer("ones", np.zeros(self.num_pixels))
        self.register_buffer("total", np.zeros(()))

    def _count(self, bits: np.ndarray) -> None:
        self.ones += bits.sum(axis=0)
        self.total += len(bits)

    def _refit(self) -> None:
        # p_i = (#(x_i = 1) + α) / (N + 2α)
        self.probs_one = _frequency(self.ones, self.total, self.smoothing, 2)

    def log_prob(self, x: Any) -> np.ndarray:
        """x : (N, *data_shape) binary -> (N,) log p(x) = Σ_i log Bernoulli(x_i; p_i)."""
        return _bernoulli_log_prob(self._flatten(x), self.probs_one).sum(axis=1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, *data_shape) float32, every pixel drawn on its own."""
        rng = check_rng("IndependentBernoulli.sample", rng)
        return self._unflatten((rng.uniform(size=(n, self.num_pixels)) < self.probs_one) * 1)


class MarkovChain(_CountingModel):
    """p(x) = p(x_0) Π_{i≥1} p(x_i | x_{i−1}) in row-major pixel order: 2n − 1 parameters.

    ``first`` = p(x_0 = 1) (1 entry); ``transition[i − 1, a]`` = p(x_i = 1 | x_{i−1} = a)
    (2(n − 1) entries; the chain may change from one position to the next).
    """

    formula_text = "2n - 1"

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 smoothing: float = 1.0) -> None:
        super().__init__(data_shape, smoothing)
        rng = check_rng("MarkovChain", rng)
        self.register_buffer("first", rng.uniform(size=1))
        self.register_buffer("transition", rng.uniform(size=(self.num_pixels - 1, 2)))
        self._reset_counts()

    def num_free_parameters(self) -> int:
        return 1 + 2 * (self.num_pixels - 1)

    def free_parameters(self) -> np.ndarray:
        return np.concatenate([self.first, self.transition.ravel()])

    def _reset_counts(self) -> None:
        self.register_buffer("first_counts", np.zeros(2))  # [#(x_0 = 1), N]
        self.register_buffer("pair_ones", np.zeros((self.num_pixels - 1, 2)))
        self.register_buffer("pair_totals", np.zeros((self.num_pixels - 1, 2)))

    def _count(self, bits: np.ndarray) -> None:
        self.first_counts += [bits[:, 0].sum(), len(bits)]
        previous, current = bits[:, :-1], bits[:, 1:]
        for a in (0, 1):
            self.pair_totals[:, a] += (previous == a).sum(axis=0)
            self.pair_ones[:, a] += ((previous == a) & (current == 1)).sum(axis=0)

    def _refit(self) -> None:
        ones, total = self.first_counts
        self.first = _frequency(np.array([ones]), np.array([total]), self.smoothing, 2)
        # p(x_i = 1 | x_{i−1} = a) = (#(a, 1) + α) / (#a + 2α)
        self.transition = _frequency(self.pair_ones, self.pair_totals, self.smoothing, 2)

    def log_prob(self, x: Any) -> np.ndarray:
        """x : (N, *data_shape) binary -> (N,) log p(x_0) + Σ_i log p(x_i | x_{i−1})."""
        bits = self._flatten(x)
        positions = np.arange(self.num_pixels - 1)
        probs = np.concatenate(
            [np.broadcast_to(self.first, (len(bits), 1)),
             self.transition[positions, bits[:, :-1]]], axis=1)
        return _bernoulli_log_prob(bits, probs).sum(axis=1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, *data_shape) float32: the chain run from pixel 0 along the row-major order."""
        rng = check_rng("MarkovChain.sample", rng)
        bits = np.zeros((n, self.num_pixels), dtype=np.int64)
        bits[:, 0] = rng.uniform(size=n) < self.first[0]
        for i in range(1, self.num_pixels):
            bits[:, i] = rng.uniform(size=n) < self.transition[i - 1, bits[:, i - 1]]
        return self._unflatten(bits)


class RGBPixelJoint(_CountingModel):
    """One RGB pixel's joint categorical over its levels³ colours: 256³ − 1 = 16,777,215.

    Data: x : (N, 3) integer levels 0 … levels − 1 (0 … 255 for 8-bit colour); colour
    (r, g, b) is table entry (r·K + g)·K + b with K = levels. ``formula`` is in K.
    """

    binary_data = False  # colour levels 0 … 255, checked by its own _flatten

    formula_text = "K^3 - 1"

    def __init__(self, data_shape: tuple[int, ...] = (3,), *, rng: np.random.Generator,
                 levels: int = 256, smoothing: float = 1e-3) -> None:
        super().__init__(data_shape, smoothing)
        if self.data_shape != (3,):
            raise ValueError(f"RGBPixelJoint: data_shape must be (3,), got {data_shape}")
        if levels < 1:
            raise ValueError(f"RGBPixelJoint: levels must be >= 1, got {levels}")
        self.levels = int(levels)
        self.outcomes = self.levels**3
        weights = check_rng("RGBPixelJoint", rng).standard_exponential(self.outcomes)
        self.register_buffer("probs", weights / weights.sum())  # a Dirichlet(1) draw
        self._reset_counts()

    def num_free_parameters(self) -> int:
        return self.levels**3 - 1

    def free_parameters(self) -> np.ndarray:
        return self.probs[:-1]  # the last colour's probability is 1 − Σ of the others

    def _flatten(self, x: Any) -> np.ndarray:
        """x : (N, 3) integer levels -> (N,) colour index."""
        x = np.asarray(x.data if isinstance(x, Tensor) else x)
        if x.ndim != 2 or x.shape[1] != 3:
            raise ValueError(f"RGBPixelJoint: x has shape {x.shape}, expected (N, 3)")
        if not np.all((x == np.round(x)) & (x >= 0) & (x < self.levels)):
            raise ValueError(f"RGBPixelJoint: x must hold integers 0 … {self.levels - 1}")
        r, g, b = x.astype(np.int64).T
        return (r * self.levels + g) * self.levels + b

    def _reset_counts(self) -> None:
        self.register_buffer("counts", np.zeros(self.outcomes))

    def _count(self, colours: np.ndarray) -> None:
        self.counts += np.bincount(colours, minlength=self.outcomes)

    def _refit(self) -> None:
        total = self.counts.sum() + self.smoothing * self.outcomes
        if total == 0:
            raise ValueError("RGBPixelJoint: no data counted and smoothing = 0; nothing to fit")
        self.probs = (self.counts + self.smoothing) / total  # p(c) = (n_c + α) / (N + α·K³)

    def log_prob(self, x: Any) -> np.ndarray:
        """x : (N, 3) levels -> (N,) exact log p(r, g, b) in nats."""
        with np.errstate(divide="ignore"):
            return np.log(self.probs[self._flatten(x)])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) int64 colours drawn from the table."""
        rng = check_rng("RGBPixelJoint.sample", rng)
        colours = rng.choice(self.outcomes, size=n, p=self.probs)
        return np.stack([colours // self.levels**2, colours // self.levels % self.levels,
                         colours % self.levels], axis=1)
