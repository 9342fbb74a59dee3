"""Digit captions: deterministic, held-out phrasings disjoint from training ones, a word
tokeniser that round-trips and refuses unknown words by name."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.data import get_dataset, get_fields, load_digits
from minigen.data.captions import (
    CAPTION_LENGTH,
    HELD_OUT_TEMPLATES,
    NUM_CLASSES,
    TRAINING_TEMPLATES,
    VOCAB_SIZE,
    VOCABULARY,
    caption_classes,
    caption_fields,
    caption_words,
    decode_captions,
    encode_captions,
    every_caption,
    make_captions,
)


def test_captions_are_the_same_on_every_load_and_for_the_same_seed():
    first, again = caption_fields("train"), caption_fields("train")
    np.testing.assert_array_equal(first["text"], again["text"])
    labels = np.arange(40) % NUM_CLASSES
    assert (make_captions(labels, np.random.default_rng(5))
            == make_captions(labels, np.random.default_rng(5)))
    assert len(set(decode_captions(first["text"]))) > 100  # and they vary


@pytest.mark.parametrize("label", range(NUM_CLASSES))
def test_held_out_phrasings_never_give_a_training_caption(label):
    training = every_caption(TRAINING_TEMPLATES, label)
    held_out = every_caption(HELD_OUT_TEMPLATES, label)
    assert training and held_out and not training & held_out


def test_the_train_split_has_training_phrasings_and_the_test_split_held_out_ones():
    for split, templates in (("train", TRAINING_TEMPLATES), ("test", HELD_OUT_TEMPLATES)):
        fields = get_fields("digits-captions", split)
        possible = {label: every_caption(templates, label) for label in range(NUM_CLASSES)}
        for caption, label in zip(decode_captions(fields["text"]), fields["y"]):
            assert caption in possible[label], (split, caption, label)


def test_every_held_out_word_occurs_in_training_captions_and_every_word_is_used():
    training_words = {word for label in range(NUM_CLASSES)
                      for caption in every_caption(TRAINING_TEMPLATES, label)
                      for word in caption.split()}
    held_out_words = {word for label in range(NUM_CLASSES)
                      for caption in every_caption(HELD_OUT_TEMPLATES, label)
                      for word in caption.split()}
    assert held_out_words <= training_words  # no held-out word has an untrained embedding
    assert training_words | held_out_words == set(VOCABULARY[1:])  # no dead vocabulary


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, NUM_CLASSES - 1), min_size=1, max_size=20),
       st.integers(0, 2**32 - 1), st.booleans())
def test_tokens_round_trip_to_the_caption_and_name_its_class(labels, seed, held_out):
    templates = HELD_OUT_TEMPLATES if held_out else TRAINING_TEMPLATES
    captions = make_captions(np.array(labels), np.random.default_rng(seed), templates)
    tokens = encode_captions(captions)
    assert tokens.shape == (len(labels), CAPTION_LENGTH) and tokens.dtype == np.int64
    assert decode_captions(tokens) == captions
    np.testing.assert_array_equal(caption_classes(tokens), labels)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY[1:]), min_size=1, max_size=CAPTION_LENGTH))
def test_any_words_of_the_vocabulary_round_trip(words):
    caption = " ".join(words)
    assert decode_captions(encode_captions(caption)) == [caption]


def test_the_tokeniser_reads_case_and_punctuation_away():
    assert caption_words("A bold Seven.") == ["a", "bold", "seven"]
    np.testing.assert_array_equal(encode_captions("A bold Seven."), encode_captions("a bold seven"))


def test_unknown_words_are_refused_with_the_closest_known_ones_or_the_vocabulary_size():
    with pytest.raises(ValueError, match=r"unknown word 'sevn'.*closest known words: seven"):
        encode_captions("a bold sevn")
    with pytest.raises(ValueError, match=rf"'cat'.*vocabulary has {VOCAB_SIZE - 1} words"):
        encode_captions(["a bold three", "a bold cat"])
    with pytest.raises(ValueError, match="unknown word 'pad'"):
        encode_captions("<pad>")  # the padding token is no word
    with pytest.raises(ValueError, match="no words"):
        encode_captions("  ,. ")
    with pytest.raises(ValueError, match="11 words; at most 10"):
        encode_captions(" ".join(["seven"] * 11))


def test_a_caption_must_name_exactly_one_digit():
    with pytest.raises(ValueError, match="caption 1 .*'a bold digit'.* exactly one digit"):
        caption_classes(encode_captions(["a bold 7", "a bold digit"]))
    with pytest.raises(ValueError, match="exactly one digit"):
        caption_classes(encode_captions(["seven 3"]))
    np.testing.assert_array_equal(caption_classes(encode_captions(["seven 7"])), [7])


def test_digits_captions_fields_are_the_signed_digits_with_their_captions():
    for split in ("train", "test"):
        fields = get_fields("digits-captions", split)
        images, labels = load_digits(split, view="signed")
        np.testing.assert_array_equal(fields["x"], images)
        np.testing.assert_array_equal(fields["y"], labels)
        assert fields["x"].min() == -1 and fields["x"].max() == 1
        assert fields["text"].shape == (len(labels), CAPTION_LENGTH)
    whole = get_fields("digits-captions", "all")
    assert len(whole["text"]) == 1797
    np.testing.assert_array_equal(whole["text"][1497:], get_fields("digits-captions",
                                                                   "test")["text"])
    x, y = get_dataset("digits-captions", "test")
    np.testing.assert_array_equal(y, labels)
