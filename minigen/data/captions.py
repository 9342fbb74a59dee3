"""Captions for the embedded digits, as word tokens: the text of text-to-image models.

Every digit gets one English caption naming its class, drawn from templates whose slots
are filled with synonyms by a seeded generator, so the captions are the same on every
machine: "a handwritten seven", "the digit 7 written in bold", "number seven".

Templates and slots
-------------------
A template is a string with slots in braces, filled per caption with ``rng``:

==========  ==================================================================
slot        filled with
==========  ==================================================================
``{name}``  the class as a word ("seven") or a numeral ("7"), each with p = ½
``{adj}``   handwritten, scribbled, neat, messy, small, large, thin
``{noun}``  digit, number, numeral, figure
``{verb}``  written, drawn, scribbled, penned
``{how}``   by hand, in ink, with care, in bold
==========  ==================================================================

The decorations say nothing about the image (a "neat" seven is any seven); only the
class is meant. ``TRAINING_TEMPLATES`` caption the train split; ``HELD_OUT_TEMPLATES``,
never used for a training caption, caption the test split, so a model is judged on
phrasings it has not seen: new word orders and compounds of known words, and "bold"
before the digit ("a bold four"), where training captions only say "in bold". Every word
of a held-out caption also occurs in training captions (no untrained word embedding is
tested), and no held-out caption string is a training caption string (tests enumerate
both sets).

Tokens
------
Word-level, with the fixed ``VOCABULARY`` (id 0 is padding, written ``<pad>``): the
vocabulary is 44 words, and the one word that matters, the digit's name, is one token
wherever it stands, so a GRU reads 1–9 steps per caption instead of the 10–45 of
characters, and a caption with a word outside the vocabulary can be refused by name
(``encode_captions`` lists the closest known words). Captions are lower-cased and split
into runs of letters and digits ("Seven." reads as "seven"). A caption of L ≤
``CAPTION_LENGTH`` = 10 words becomes its L ids followed by padding; a row's length is its
number of non-padding ids (``caption_lengths``).

Data set "digits-captions" (``caption_fields``): x the signed digits ([−1, 1]), y their
classes, text their captions (N, 10) int64; the train split captioned from the training
templates with ``np.random.default_rng([CAPTION_SEED, 0])``, the test split from the
held-out templates with ``np.random.default_rng([CAPTION_SEED, 1])``.
"""

from __future__ import annotations

import difflib
import itertools
import re
import string
from collections.abc import Sequence

import numpy as np

from minigen.checks import check_choice

from .digits import load_digits

PAD_TOKEN = 0
CAPTION_LENGTH = 10
CAPTION_SEED = 0
NUM_CLASSES = 10
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NUMERALS = tuple(str(digit) for digit in range(NUM_CLASSES))
SYNONYMS: dict[str, tuple[str, ...]] = {
    "adj": ("handwritten", "scribbled", "neat", "messy", "small", "large", "thin"),
    "noun": ("digit", "number", "numeral", "figure"),
    "verb": ("written", "drawn", "scribbled", "penned"),
    "how": ("by hand", "in ink", "with care", "in bold"),
}
TRAINING_TEMPLATES = (
    "a {adj} {name}",
    "the {noun} {name} {verb} in bold",
    "{noun} {name}",
    "the {noun} {name}",
    "a {adj} {noun} {name}",
    "{name} {verb} {how}",
    "a picture of a {name}",
    "{name}",
)
HELD_OUT_TEMPLATES = (
    "a bold {name}",
    "the {adj} {name}",
    "{adj} {name} {verb} {how}",
    "a picture of the {noun} {name} {verb} {how}",
    "{verb} {how} the {noun} {name}",
)
VOCABULARY = (
    "<pad>", *NUMBER_WORDS, *NUMERALS,
    "a", "the", "of", "picture", "bold",
    "handwritten", "scribbled", "neat", "messy", "small", "large", "thin",
    "digit", "number", "numeral", "figure",
    "written", "drawn", "penned",
    "by", "hand", "in", "ink", "with", "care",
)
VOCAB_SIZE = len(VOCABULARY)
_IDS = {word: index for index, word in enumerate(VOCABULARY)}
# token id -> the class it names (number words and numerals), −1 for every other word
CLASS_OF_TOKEN = np.array([NUMBER_WORDS.index(word) if word in NUMBER_WORDS
                           else NUMERALS.index(word) if word in NUMERALS else -1
                           for word in VOCABULARY], dtype=np.int64)
SPLITS = ("train", "test", "all")


def _slots(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def make_captions(labels: Sequence[int] | np.ndarray, rng: np.random.Generator,
                  templates: Sequence[str] = TRAINING_TEMPLATES) -> list[str]:
    """One caption per label: a template drawn uniformly, each slot filled uniformly.

    labels : (N,) classes 0..9; returns N strings, the same for the same ``rng`` state.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0
                                             or labels.max() >= NUM_CLASSES)):
        raise ValueError(f"make_captions: labels must be (N,) integers in [0, {NUM_CLASSES}); "
                         f"got shape {labels.shape}, dtype {labels.dtype}")
    captions = []
    for label in labels:
        template = templates[rng.integers(len(templates))]
        names = (NUMBER_WORDS[label], NUMERALS[label])
        fill = {slot: names[rng.integers(2)] if slot == "name"
                else SYNONYMS[slot][rng.integers(len(SYNONYMS[slot]))]
                for slot in _slots(template)}
        captions.append(template.format(**fill))
    return captions


def every_caption(templates: Sequence[str], label: int) -> set[str]:
    """Every caption the templates can give for class ``label`` (all slot fillings)."""
    captions = set()
    for template in templates:
        slots = _slots(template)
        choices = [(NUMBER_WORDS[label], NUMERALS[label]) if slot == "name" else SYNONYMS[slot]
                   for slot in slots]
        for values in itertools.product(*choices):
            captions.add(template.format(**dict(zip(slots, values))))
    return captions


def caption_words(caption: str) -> list[str]:
    """The words of a caption as the tokeniser reads them: lower case, letters and digits."""
    return re.findall(r"[a-z0-9]+", caption.lower())


def _unknown_word(word: str, caption: str) -> ValueError:
    closest = difflib.get_close_matches(word, VOCABULARY[1:], n=3, cutoff=0.6)
    hint = (f"closest known words: {', '.join(closest)}" if closest else
            f"no known word is close; the vocabulary has {VOCAB_SIZE - 1} words "
            "(minigen.data.captions.VOCABULARY)")
    return ValueError(f"unknown word {word!r} in caption {caption!r}; {hint}")


def encode_captions(captions: str | Sequence[str], length: int = CAPTION_LENGTH) -> np.ndarray:
    """Captions -> tokens (N, length) int64: word ids, then padding (id 0).

    A single string gives one row. Raises ValueError for an empty caption, one longer
    than ``length`` words, or a word outside ``VOCABULARY`` (naming the closest ones).
    """
    captions = [captions] if isinstance(captions, str) else list(captions)
    tokens = np.full((len(captions), length), PAD_TOKEN, dtype=np.int64)
    for row, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise TypeError(f"encode_captions: captions must be strings, got "
                            f"{type(caption).__name__} {caption!r}")
        caption = str(caption)  # a NumPy string prints as np.str_(...) otherwise
        words = caption_words(caption)
        if not words:
            raise ValueError(f"caption {caption!r} has no words; write one such as "
                             "'a handwritten seven'")
        if len(words) > length:
            raise ValueError(f"caption {caption!r} has {len(words)} words; at most {length}")
        for column, word in enumerate(words):
            if word not in _IDS or word == VOCABULARY[PAD_TOKEN]:
                raise _unknown_word(word, caption)
            tokens[row, column] = _IDS[word]
    return tokens


def caption_lengths(tokens: np.ndarray) -> np.ndarray:
    """Words per row of ``tokens`` (N, T): the non-padding ids, (N,) int64."""
    return (np.asarray(tokens) != PAD_TOKEN).sum(axis=1).astype(np.int64)


def decode_captions(tokens: np.ndarray) -> list[str]:
    """Token rows (N, T) -> the N captions they spell (padding dropped)."""
    return [" ".join(VOCABULARY[token] for token in row if token != PAD_TOKEN)
            for row in np.asarray(tokens)]


def caption_classes(tokens: np.ndarray) -> np.ndarray:
    """The class each caption names, (N,) int64, from tokens (N, T).

    Raises ValueError for a row that names no digit or two different ones.
    """
    named = CLASS_OF_TOKEN[np.asarray(tokens)]
    classes = named.max(axis=1)
    ambiguous = (named >= 0) & (named != classes[:, None])
    bad = np.flatnonzero((classes < 0) | ambiguous.any(axis=1))
    if bad.size:
        row = int(bad[0])
        raise ValueError(f"caption_classes: caption {row} "
                         f"({decode_captions(np.asarray(tokens)[row:row + 1])[0]!r}) must name "
                         "exactly one digit")
    return classes


def caption_fields(split: str) -> dict[str, np.ndarray]:
    """The "digits-captions" fields of a split: x (N, 1, 8, 8) float32 in [−1, 1], y (N,)
    int64, text (N, 10) int64 (see the module docstring); "all" is train then test."""
    check_choice("split", split, SPLITS)
    if split == "all":
        parts = [caption_fields(part) for part in ("train", "test")]
        return {field: np.concatenate([part[field] for part in parts]) for field in parts[0]}
    images, labels = load_digits(split, view="signed")
    part = SPLITS.index(split)
    templates = (TRAINING_TEMPLATES, HELD_OUT_TEMPLATES)[part]
    captions = make_captions(labels, np.random.default_rng([CAPTION_SEED, part]), templates)
    return {"x": images, "y": labels, "text": encode_captions(captions)}
