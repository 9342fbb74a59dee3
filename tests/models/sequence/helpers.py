"""Small token LMs for the tests (explicit hyper-parameters, never the registry's)."""

import itertools

import numpy as np

from minigen.models.sequence.bigram import Bigram
from minigen.models.sequence.gru_lm import GRULM
from minigen.models.sequence.lstm_lm import LSTMLM
from minigen.models.sequence.rnn_lm import RNNLM
from minigen.models.sequence.transformer_lm import TransformerLM

NEURAL = {
    "rnn_lm": (RNNLM, {"embedding_dim": 5, "hidden": 6}),
    "lstm_lm": (LSTMLM, {"embedding_dim": 5, "hidden": 6, "num_layers": 2}),
    "gru_lm": (GRULM, {"embedding_dim": 5, "hidden": 6}),
    "transformer_lm": (TransformerLM, {"embed_dim": 8, "num_heads": 2, "num_layers": 2}),
    "transformer_lm_tied": (TransformerLM, {"embed_dim": 8, "num_heads": 2, "num_layers": 1,
                                            "tied": True}),
}
ALL = [*NEURAL, "bigram"]


def small_lm(name, data_shape, seed=0, dtype=np.float64, **extra):
    """A small model of kind ``name``; the bigram is fitted to random sequences (α = 0.5)."""
    rng = np.random.default_rng(seed)
    if name == "bigram":
        model = Bigram(data_shape, rng=rng, smoothing=0.5, **extra)
        model.fit(random_tokens(model, 20, rng))
        return model
    cls, hparams = NEURAL[name]
    return cls(data_shape, rng=rng, dtype=dtype, **hparams, **extra)


def random_tokens(model, n, rng):
    """n valid examples: random symbols, then an end token at a random position (text)."""
    length, vocab = model.sequence_length, model.vocab_size
    if model.image_shape is not None:
        return rng.integers(0, 2, (n, *model.image_shape)).astype(np.float32)
    tokens = rng.integers(1, vocab, (n, length))
    ends = rng.integers(0, length, n)
    tokens[np.arange(length)[None, :] >= ends[:, None]] = 0
    return tokens


def all_sequences(length, vocab):
    """Every sequence of at most length − 1 symbols (ids 1 … vocab−1), end token, padding."""
    rows = []
    for letters in range(length):
        for symbols in itertools.product(range(1, vocab), repeat=letters):
            rows.append(list(symbols) + [0] * (length - letters))
    return np.array(rows, dtype=np.int64)


def scale_weights(model, factor):
    """Multiply every parameter by ``factor`` (large weights expose a finite mask)."""
    for parameter in model.parameters():
        parameter.data *= factor
