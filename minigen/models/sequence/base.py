"""What the token language models share: the chain rule over a sequence of tokens.

A sequence s = (s_0, …, s_{T−1}) has probability

    p(s) = Π_t p(s_t | s_<t),    log p(s) = Σ_t log softmax(l_t)[s_t]   (nats)

where l_t are the logits a network computes from the tokens before t. Every model here
reads its input shifted right by one position behind a start token that is never
predicted (input id V, one past the output vocabulary), so position t sees s_0 … s_{t−1}.
Subclasses define only the network: the full-sequence :meth:`TokenLM.network_logits`
and the one-step :meth:`TokenLM.step` that the sampler drives.

Two kinds of data, told apart by ``data_shape``:

* text, ``(T,)``: int tokens (N, T); id 0 is the end token, ids 1 … V−1 are symbols
  (``minigen.data.names``: 26 letters, V = 27). A sequence is scored up to and including
  its first end token; what follows is padding (end tokens) and is not scored, so the
  log-probability includes the decision to stop. **The length cap** is explicit: at the
  last position T − 1 only the end token is allowed (the other logits are −inf, set with
  ``where``), so p is a normalised distribution over the sequences of at most T − 1
  symbols and Σ_s p(s) = 1 exactly (checked by enumeration in the tests).
* binary images, ``(1, H, W)``: the H·W pixels in raster order are tokens in {0, 1}
  (ImageGPT's view, Chen et al., 2020, at 1 bit), V = 2, no end token, every position
  scored; ``sample`` returns images (n, 1, H, W) float32.

The methods ``loss`` (mean −log p(x) per sequence, nats), ``log_prob`` (exact, nats per
sequence, always with dropout off), ``logits`` (capped, dropout off), ``sample`` (with a
temperature) and ``complete`` (keep the first half, draw the rest) are written once here.
``metrics`` adds nats per scored token (nats per character for names, counting the end
token, the unit of the published anchors).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor, no_grad
from minigen.data.names import END_TOKEN, VOCABULARY, decode_names, name_lengths
from minigen.distributions import Categorical
from minigen.models.base import Autoregressive, DecodesText, ReportsMetrics
from minigen.nn import Dropout, Embedding, Linear, Module

State = Any


@contextmanager
def evaluating(module: Module) -> Iterator[None]:
    """Run a block in eval mode (dropout off) and restore the module's mode after it."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def check_rng(rng: Any, name: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


class TokenLM(Autoregressive, DecodesText, ReportsMetrics):
    """Base of the token language models: data handling, chain rule, cap, sampler.

    Parameters
    ----------
    data_shape : ``(T,)`` for token sequences or ``(1, H, W)`` for binary images
    vocab_size : V, the output vocabulary of text (default 27: end token + a–z); images
        always have V = 2

    Attributes
    ----------
    sequence_length : T (H·W for images)
    vocab_size : V; the input vocabulary is V + 1 (the start token ``start_token = V``)
    has_end_token : True for text
    """

    sample_options = ("temperature",)

    def __init__(self, data_shape: tuple[int, ...], vocab_size: int | None = None) -> None:
        super().__init__()
        shape = tuple(int(d) for d in data_shape)
        name = type(self).__name__
        if len(shape) == 1 and shape[0] >= 1:
            self.image_shape: tuple[int, ...] | None = None
            self.sequence_length = shape[0]
            self.vocab_size = len(VOCABULARY) if vocab_size is None else int(vocab_size)
            if self.vocab_size < 2:
                raise ValueError(f"{name}: vocab_size must be >= 2 (the end token and at least "
                                 f"one symbol), got {vocab_size}")
        elif len(shape) == 3 and shape[0] == 1:
            if vocab_size not in (None, 2):
                raise ValueError(f"{name}: binary images have vocab_size 2, got {vocab_size}")
            self.image_shape, self.sequence_length, self.vocab_size = shape, shape[1] * shape[2], 2
        else:
            raise ValueError(f"{name}: data_shape must be (T,) for token sequences or "
                             f"(1, H, W) for binary images, got {data_shape}")
        self.data_shape = shape
        self.has_end_token = self.image_shape is None
        self.start_token = self.vocab_size

    # ----- what a subclass defines -----------------------------------------------------
    @abstractmethod
    def network_logits(self, inputs: np.ndarray | Tensor,
                       rng: np.random.Generator | None = None) -> Tensor:
        """Uncapped logits (N, T, V) from inputs (N, T) (start token, then s_0 … s_{T−2}).

        Inputs are int tokens, or for images a Tensor of pixel values; a network reads them
        only through :meth:`lookup`. Position t may depend only on inputs 0 … t. ``rng``
        draws dropout masks in training.
        """

    @abstractmethod
    def start_state(self, n: int) -> State:
        """The sampler's state before the first input, for n sequences."""

    @abstractmethod
    def step(self, inputs: np.ndarray, state: State) -> tuple[Tensor, State]:
        """One step: the input tokens (n,) at position t -> logits (n, V) of s_t, new state."""

    # ----- data ------------------------------------------------------------------------
    def tokens(self, x: Any) -> np.ndarray:
        """Data -> tokens (N, T) int64 (images: raster order, pixel values as ids)."""
        name = type(self).__name__
        x = np.asarray(x.data if isinstance(x, Tensor) else x)
        if self.image_shape is not None:
            if x.shape[1:] != self.image_shape or not np.all((x == 0) | (x == 1)):
                raise ValueError(f"{name}: x must be binary images (N, *{self.image_shape}) "
                                 f"with values 0 and 1, got shape {x.shape}")
            return x.reshape(len(x), -1).astype(np.int64)
        if x.ndim != 2 or x.shape[1] != self.sequence_length or x.dtype.kind not in "iu":
            raise ValueError(f"{name}: x must be int tokens (N, {self.sequence_length}), got "
                             f"dtype {x.dtype} and shape {x.shape}")
        if x.size and (x.min() < 0 or x.max() >= self.vocab_size):
            raise ValueError(f"{name}: token ids must lie in 0 … {self.vocab_size - 1}, got "
                             f"values in [{x.min()}, {x.max()}]")
        return x.astype(np.int64)

    def to_data(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens (N, T) -> data space: tokens themselves, or images (N, 1, H, W) float32."""
        if self.image_shape is None:
            return tokens
        return tokens.reshape(len(tokens), *self.image_shape).astype(np.float32)

    def decode(self, tokens: np.ndarray) -> list[str]:
        """Token rows -> strings: the symbols before the first end token (a, b, …)."""
        if self.image_shape is not None or self.vocab_size > len(VOCABULARY):
            raise ValueError(f"{type(self).__name__}.decode: only text with at most "
                             f"{len(VOCABULARY)} tokens has letters")
        return decode_names(self.tokens(tokens))

    def shifted(self, tokens: np.ndarray) -> np.ndarray:
        """Network inputs (N, T): the start token, then s_0 … s_{T−2}."""
        start = np.full((len(tokens), 1), self.start_token, dtype=np.int64)
        return np.concatenate([start, tokens[:, :-1]], axis=1)

    def scored(self, tokens: np.ndarray) -> np.ndarray:
        """(N, T) bool: the positions up to and including the first end token (all, for images)."""
        if not self.has_end_token:
            return np.ones(tokens.shape, dtype=bool)
        return np.arange(tokens.shape[1])[None, :] < name_lengths(tokens)[:, None]

    # ----- the chain rule --------------------------------------------------------------
    def cap(self, logits: Tensor) -> Tensor:
        """Text: at the last position only the end token may follow (others −inf, by where)."""
        if not self.has_end_token:
            return logits
        forbidden = np.zeros(logits.shape[-2:], dtype=bool)
        forbidden[-1, :] = True
        forbidden[-1, END_TOKEN] = False
        return ag.where(forbidden, -np.inf, logits)

    def logits(self, x: Any) -> Tensor:
        """Capped logits (N, T, V) of p(s_t | s_<t), computed with dropout off.

        For images, x may also be a float Tensor (N, 1, H, W) of values in [0, 1]: each
        input vector is then the interpolation x·e(1) + (1 − x)·e(0) of the two pixel
        embeddings (:meth:`lookup`), equal to the lookup on binary pixels and differentiable
        in x, so autograd can show which pixels reach each logit (the receptive field plot).
        """
        with evaluating(self):
            if self.image_shape is not None and isinstance(x, Tensor):
                return self.network_logits(self.shifted_values(x))
            return self.cap(self.network_logits(self.shifted(self.tokens(x))))

    def shifted_values(self, x: Tensor) -> Tensor:
        """Images (N, 1, H, W) Tensor -> (N, T) Tensor: a placeholder for the start, then
        the pixel values x_0 … x_{T−2} (what :meth:`lookup` interpolates)."""
        if x.shape[1:] != self.image_shape:
            raise ValueError(f"{type(self).__name__}: x must be (N, *{self.image_shape}), got "
                             f"shape {x.shape}")
        values = x.reshape(x.shape[0], self.sequence_length)
        start = Tensor(np.zeros((x.shape[0], 1), dtype=x.dtype))
        return ag.concat([start, values[:, :-1]], axis=1)

    def lookup(self, table: Tensor, inputs: np.ndarray | Tensor) -> Tensor:
        """Rows of ``table`` (V + 1, d) for the inputs: ``table[inputs]`` for int tokens
        (N, T); for pixel values (a Tensor from :meth:`shifted_values`) the start row at
        position 0, then x·table[1] + (1 − x)·table[0]. Returns (N, T, d)."""
        if not isinstance(inputs, Tensor):
            return table[inputs]
        value = inputs.reshape(*inputs.shape, 1)
        mixed = value * table[1] + (1.0 - value) * table[0]  # x e(1) + (1 − x) e(0)
        start = np.zeros((1, inputs.shape[1], 1), dtype=bool)
        start[0, 0, 0] = True
        return ag.where(start, table[self.start_token], mixed)

    def token_log_probs(self, tokens: np.ndarray, rng: np.random.Generator | None = None
                        ) -> Tensor:
        """(N, T): log p(s_t | s_<t) at the scored positions, 0 on the padding."""
        logits = self.cap(self.network_logits(self.shifted(tokens), rng))
        log_probs = Categorical(logits).log_prob(tokens)  # log softmax(l_t)[s_t]
        return ag.where(self.scored(tokens), log_probs, 0.0)

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """Mean over the batch of −log p(s) = −Σ_t log p(s_t | s_<t), nats per sequence."""
        return -self.token_log_probs(self.tokens(x), rng).sum(axis=1).mean()

    def log_prob(self, x: Any) -> np.ndarray:
        """Exact log p(s) in nats per sequence, (N,) float64, dropout off."""
        return self.sequence_log_probs(self.tokens(x))

    def sequence_log_probs(self, tokens: np.ndarray) -> np.ndarray:
        """log p(s) (N,) float64 of token rows (N, T) already checked by :meth:`tokens`."""
        with no_grad(), evaluating(self):
            return self.token_log_probs(tokens).data.astype(np.float64).sum(axis=1)

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """nats_per_token = −Σ log p(s) / Σ (scored positions): nats per character for names."""
        tokens = self.tokens(x)
        total = -self.sequence_log_probs(tokens).sum()
        return {"nats_per_token": float(total / self.scored(tokens).sum())}

    # ----- sampling --------------------------------------------------------------------
    def generate(self, n: int, rng: np.random.Generator, temperature: float = 1.0,
                 given: np.ndarray | None = None, keep: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Draw n token sequences step by step: s_t ~ softmax(l_t / temperature).

        given, keep : (n, T) tokens and a bool mask; where ``keep`` holds, ``given`` is
        used instead of a draw (completion). Returns tokens (n, T) int64 and the logits
        (n, T, V) the sampler used at each position (before the temperature).
        """
        check_rng(rng, f"{type(self).__name__}.sample")
        if isinstance(n, bool) or int(n) != n or n < 1:
            raise ValueError(f"{type(self).__name__}.sample: n must be an int >= 1, got {n!r}")
        if not temperature > 0:
            raise ValueError(f"{type(self).__name__}.sample: temperature must be > 0, got "
                             f"{temperature}")
        n, length = int(n), self.sequence_length
        tokens = np.zeros((n, length), dtype=np.int64)
        used = np.zeros((n, length, self.vocab_size))
        ended = np.zeros(n, dtype=bool)
        inputs = np.full(n, self.start_token, dtype=np.int64)
        with no_grad(), evaluating(self):
            state = self.start_state(n)
            for t in range(length):
                step_logits, state = self.step(inputs, state)
                logits = step_logits.data.astype(np.float64)
                if self.has_end_token and t == length - 1:  # the cap: only the end token
                    logits = np.where(np.arange(self.vocab_size) == END_TOKEN, logits, -np.inf)
                used[:, t] = logits
                drawn = Categorical(logits / temperature).sample(rng)
                if keep is not None:
                    drawn = np.where(keep[:, t], given[:, t], drawn)
                if self.has_end_token:
                    drawn = np.where(ended, END_TOKEN, drawn)  # padding after the end
                    ended |= drawn == END_TOKEN
                tokens[:, t] = drawn
                inputs = drawn
        return tokens, used

    def sample(self, n: int, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        """n new sequences in data space (tokens (n, T), or images (n, 1, H, W))."""
        return self.to_data(self.generate(n, rng, temperature)[0])

    def complete(self, x_top: Any, rng: np.random.Generator) -> np.ndarray:
        """Keep the first half of each example and draw the rest.

        Images: the top half of the rows (the first H·W/2 tokens). Text: the first half of
        each sequence's symbols (⌊letters / 2⌋), then the model continues.
        """
        tokens = self.tokens(x_top)
        if self.has_end_token:
            half = (self.scored(tokens).sum(axis=1) - 1) // 2
        else:
            half = np.full(len(tokens), self.sequence_length // 2)
        keep = np.arange(self.sequence_length)[None, :] < half[:, None]
        return self.to_data(self.generate(len(tokens), rng, given=tokens, keep=keep)[0])


class RecurrentLM(TokenLM):
    """Embedding → recurrent layer(s) → Linear head: the body of rnn_lm, lstm_lm, gru_lm.

    h_t = cell(e(s_{t−1}), h_{t−1}),  l_t = W_out dropout(h_t) + b_out,  h_{−1} = 0

    The hidden state carries the whole prefix, so the sampler steps the same layer one
    token at a time with the state it returned (``hx``): the state chains across steps.
    Dropout (Zaremba et al., 2014) acts only on the non-recurrent connections: the
    embeddings, between layers (the layer's own ``dropout``) and before the head.

    Parameters
    ----------
    data_shape, vocab_size : see :class:`TokenLM`
    rng : draws every initial weight
    embedding_dim, hidden, num_layers : sizes (hidden: the recurrent layer's width H)
    dropout : drop probability in training (0 turns it off)
    """

    layer_class: type = Module  # RNN, LSTM or GRU from minigen.nn, set by each model

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 vocab_size: int | None = None, embedding_dim: int = 32, hidden: int = 128,
                 num_layers: int = 1, dropout: float = 0.0, dtype: Any = np.float32) -> None:
        super().__init__(data_shape, vocab_size)
        check_rng(rng, type(self).__name__)
        self.embedding = Embedding(self.vocab_size + 1, embedding_dim, rng=rng, dtype=dtype)
        self.recurrent = self.layer_class(embedding_dim, hidden, num_layers,
                                          batch_first=True, dropout=dropout if num_layers > 1
                                          else 0.0, rng=rng, dtype=dtype)
        self.drop = Dropout(dropout)
        self.head = Linear(hidden, self.vocab_size, rng=rng, dtype=dtype)

    def network_logits(self, inputs: np.ndarray | Tensor,
                       rng: np.random.Generator | None = None) -> Tensor:
        embedded = self.drop(self.lookup(self.embedding.weight, inputs), rng)  # e(s_{t−1})
        hidden, _ = self.recurrent(embedded, None, rng)  # h_t for every t : (N, T, H)
        return self.head(self.drop(hidden, rng))  # l_t = W_out h_t + b_out

    def start_state(self, n: int) -> State:
        return None  # the layer starts from zeros

    def step(self, inputs: np.ndarray, state: State) -> tuple[Tensor, State]:
        embedded = self.embedding(inputs[:, None])  # (n, 1, E)
        hidden, state = self.recurrent(embedded, state)  # h_t from h_{t−1}: the state chains
        return self.head(hidden[:, 0]), state
