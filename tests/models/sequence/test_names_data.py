"""The names data: the shipped file, the tokens, the padding convention, the split."""

import hashlib

import numpy as np
import pytest

from minigen.data import (
    NAMES_SHA256,
    decode_names,
    encode_names,
    get_dataset,
    load_colour_pixels,
    load_names,
    name_lengths,
)
from minigen.data.names import names_file_bytes, read_names


def test_shipped_file_is_the_published_one():
    assert hashlib.sha256(names_file_bytes()).hexdigest() == NAMES_SHA256
    assert len(read_names()) == 32033


def test_split_is_fixed_disjoint_and_covers_every_name():
    train, _ = load_names("train")
    test, _ = load_names("test")
    assert train.shape == (28829, 16) and test.shape == (3204, 16)
    assert train.dtype == np.int64
    np.testing.assert_array_equal(load_names("train")[0], train)  # seeded, not random
    rows = {tuple(r) for r in train}
    # names repeat in the file (a few), so compare the multiset sizes, then the union
    assert len(train) + len(test) == len(load_names("all")[0])
    assert rows | {tuple(r) for r in test} == {tuple(r) for r in load_names("all")[0]}
    np.testing.assert_array_equal(get_dataset("names", "test")[0], test)


def test_tokens_round_trip_and_pad_with_the_end_token():
    names = ["emma", "a", "zzzzzzzzzzzzzzz"]
    tokens = encode_names(names)
    assert decode_names(tokens) == names
    np.testing.assert_array_equal(tokens[0], [5, 13, 13, 1] + [0] * 12)
    np.testing.assert_array_equal(name_lengths(tokens), [5, 2, 16])  # letters + the end token


def test_encode_refuses_what_it_cannot_represent():
    with pytest.raises(ValueError, match="letters"):
        encode_names(["a" * 16])
    with pytest.raises(ValueError, match="a–z"):
        encode_names(["Emma"])


def test_every_name_ends_within_the_sequence():
    tokens, _ = load_names("all")
    assert (tokens[:, -1] == 0).all()
    assert name_lengths(tokens).max() == 16


def test_colour_pixels_come_from_the_photograph():
    x, labels = load_colour_pixels("test")
    assert x.shape == (30720, 3) and x.dtype == np.int64
    assert x.min() >= 0 and x.max() <= 255 and (labels == 0).all()
    assert len(load_colour_pixels("train")[0]) + len(x) == 600 * 512
