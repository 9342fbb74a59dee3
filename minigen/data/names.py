"""Given names as character tokens: the text data of the sequence models.

``names.txt`` beside this module holds 32,033 given names, one per line, lower case a–z
(sha256 ``NAMES_SHA256``). The names come from the U.S. Social Security Administration's
baby-name data (a work of the U.S. government, public domain); the file is the one
distributed with A. Karpathy's makemore (commit 988aa59) under the MIT licence, whose text
ships beside it as ``names.LICENSE.txt``. Published anchors on this file: a bigram table
reaches about 2.45 nats per character, makemore's ~200k-parameter Transformer about 1.92.

Tokens
------
The vocabulary has 27 tokens: id 0 is the end token (written ``.``), ids 1 … 26 are the
letters a … z. A name of L letters becomes L letter ids followed by the end token, so
its probability includes the decision to stop. Every name fits in
``SEQUENCE_LENGTH = 16`` positions (the longest has 15 letters).

Padding convention: positions after the first end token are filled with the end token
(id 0) and mean nothing; a model scores a sequence up to and including its first end
token and ignores the rest. Lengths are therefore never stored: :func:`name_lengths`
reads them off the first end token.

Split: ``np.random.default_rng(0).permutation`` of the file's lines; the first 90 %
(28,829 names) are the training set, the last 10 % (3,204) the test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

import numpy as np

from minigen.checks import check_choice

NAMES_FILENAME = "names.txt"
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
NUM_NAMES = 32033
NUM_TRAIN_NAMES = 28829  # ⌊0.9 · 32,033⌋: the first 90 % after the seeded shuffle
END_TOKEN = 0
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
VOCABULARY = "." + ALPHABET  # token id -> character; "." is the end token
VOCAB_SIZE = len(VOCABULARY)  # 27
SEQUENCE_LENGTH = 16  # 15 letters at most, then the end token
SPLIT_SEED = 0
SPLITS = ("train", "test", "all")

_names: list[str] | None = None


def names_file_bytes() -> bytes:
    """The shipped ``names.txt`` exactly as stored (its sha256 is ``NAMES_SHA256``)."""
    return resources.files(__package__).joinpath(NAMES_FILENAME).read_bytes()


def read_names() -> list[str]:
    """All 32,033 names in file order."""
    global _names
    if _names is None:
        _names = names_file_bytes().decode("ascii").split()
        if len(_names) != NUM_NAMES:
            raise ValueError(f"{NAMES_FILENAME}: expected {NUM_NAMES} names, got {len(_names)}")
    return list(_names)


def encode_names(names: Sequence[str], length: int = SEQUENCE_LENGTH) -> np.ndarray:
    """Names -> tokens (N, length) int64: letter ids, the end token, then end-token padding.

    Raises ValueError for a character outside a–z or a name longer than ``length − 1``.
    """
    tokens = np.full((len(names), length), END_TOKEN, dtype=np.int64)
    for row, name in enumerate(names):
        if len(name) > length - 1:
            raise ValueError(f"encode_names: {name!r} has {len(name)} letters; with length = "
                             f"{length} a name may have at most {length - 1}")
        for column, character in enumerate(name):
            index = VOCABULARY.find(character)
            if index < 1:
                raise ValueError(f"encode_names: {name!r} holds {character!r}; names are "
                                 "lower-case a–z")
            tokens[row, column] = index
    return tokens


def decode_names(tokens: np.ndarray) -> list[str]:
    """Tokens (N, T) -> names: the letters before each row's first end token.

    A row with no end token (possible only when it was cut off) decodes all its letters.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(f"decode_names: tokens must be an int array (N, T), got dtype "
                         f"{tokens.dtype} and shape {tokens.shape}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= VOCAB_SIZE):
        raise ValueError(f"decode_names: token ids must lie in 0 … {VOCAB_SIZE - 1}")
    lengths = name_lengths(tokens) - 1
    return ["".join(VOCABULARY[t] for t in row[:length]) for row, length in zip(tokens, lengths)]


def name_lengths(tokens: np.ndarray) -> np.ndarray:
    """(N,) number of scored positions per row: letters + 1 for the end token.

    A row without an end token counts all T positions.
    """
    tokens = np.asarray(tokens)
    ended = tokens == END_TOKEN
    first_end = np.where(ended.any(axis=1), ended.argmax(axis=1), tokens.shape[1] - 1)
    return first_end + 1


def load_names(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The names as tokens.

    Parameters
    ----------
    split : "train" (28,829 names), "test" (3,204) or "all" (32,033: train, then test)

    Returns
    -------
    tokens : (N, 16) int64 (see the module docstring for ids and padding)
    labels : (N,) int64 zeros (names have no class)
    """
    check_choice("split", split, SPLITS)
    names = read_names()
    order = np.random.default_rng(SPLIT_SEED).permutation(NUM_NAMES)
    rows = {"train": order[:NUM_TRAIN_NAMES], "test": order[NUM_TRAIN_NAMES:],
            "all": order}[split]
    tokens = encode_names([names[i] for i in rows])
    return tokens, np.zeros(len(tokens), dtype=np.int64)
