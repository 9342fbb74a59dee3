import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigen.data import DIGITS_SHA256, dequantize, load_digits
from minigen.data.digits import digits_file_bytes

# First line of digits.csv.gz, a zero: its top image row read from the file by eye.
FIRST_DIGIT_TOP_ROW = [0, 0, 5, 13, 9, 1, 0, 0]
FIRST_DIGIT_SECOND_ROW = [0, 0, 13, 15, 10, 15, 5, 0]
# Class counts of the UCI test set as published with the data.
CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_shipped_file_matches_its_sha256_constant():
    shipped = digits_file_bytes()
    assert len(shipped) == 57_523
    assert hashlib.sha256(shipped).hexdigest() == DIGITS_SHA256


@pytest.mark.parametrize("split, count", [("train", 1497), ("test", 300), ("all", 1797)])
def test_split_sizes_and_shapes(split, count):
    images, labels = load_digits(split)
    assert images.shape == (count, 1, 8, 8)
    assert images.dtype == np.float32
    assert labels.shape == (count,)
    assert labels.dtype == np.int64


def test_all_split_is_file_order_and_row_major():
    images, labels = load_digits("all", view="grey")
    assert images[0, 0, 0].tolist() == FIRST_DIGIT_TOP_ROW
    assert images[0, 0, 1].tolist() == FIRST_DIGIT_SECOND_ROW
    assert labels[0] == 0


def test_class_counts_match_the_published_data_set():
    _, labels = load_digits("all")
    assert np.bincount(labels, minlength=10).tolist() == CLASS_COUNTS


def test_split_is_the_documented_seed_zero_permutation():
    all_images, all_labels = load_digits("all", view="grey")
    order = np.random.default_rng(0).permutation(1797)
    train_images, train_labels = load_digits("train", view="grey")
    test_images, test_labels = load_digits("test", view="grey")
    np.testing.assert_array_equal(train_images, all_images[order[:1497]])
    np.testing.assert_array_equal(train_labels, all_labels[order[:1497]])
    np.testing.assert_array_equal(test_images, all_images[order[1497:]])
    np.testing.assert_array_equal(test_labels, all_labels[order[1497:]])


def test_views_are_the_documented_maps_of_grey_levels():
    grey, _ = load_digits("all", view="grey")
    assert set(np.unique(grey).tolist()) == set(range(17))
    unit, _ = load_digits("all", view="unit")
    signed, _ = load_digits("all", view="signed")
    binary, _ = load_digits("all", view="binary")
    np.testing.assert_allclose(unit, grey / 16, atol=1e-7)
    np.testing.assert_allclose(signed, grey / 8 - 1, atol=1e-7)
    np.testing.assert_array_equal(binary, (grey >= 8).astype(np.float32))
    assert unit.min() == 0.0 and unit.max() == 1.0
    assert signed.min() == -1.0 and signed.max() == 1.0
    assert set(np.unique(binary).tolist()) == {0.0, 1.0}


def test_binary_threshold_is_half_intensity():
    grey, _ = load_digits("all", view="grey")
    binary, _ = load_digits("all", view="binary")
    assert np.all(binary[grey == 7] == 0)
    assert np.all(binary[grey == 8] == 1)


def test_dtype_argument_sets_image_dtype():
    images, _ = load_digits("test", dtype=np.float64)
    assert images.dtype == np.float64


def test_changing_a_loaded_array_does_not_change_the_next_load():
    images, labels = load_digits("all", view="grey")
    images[:] = -5
    labels[:] = -5
    images_again, labels_again = load_digits("all", view="grey")
    assert images_again.min() == 0
    assert labels_again.min() == 0


@pytest.mark.parametrize(
    "arguments, argument_name, value",
    [({"split": "validation"}, "split", "validation"), ({"view": "bw"}, "view", "bw")],
)
def test_bad_split_or_view_names_argument_value_and_choices(arguments, argument_name, value):
    with pytest.raises(ValueError) as raised:
        load_digits(**arguments)
    message = str(raised.value)
    assert argument_name in message
    assert repr(value) in message
    valid = ("train", "test", "all") if argument_name == "split" else ("grey", "unit", "binary")
    for choice in valid:
        assert choice in message


grey_levels = hnp.arrays(
    np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=st.integers(0, 16)
)


@settings(max_examples=40, deadline=None)
@given(grey=grey_levels, seed=st.integers(0, 2**32 - 1))
def test_dequantized_value_falls_in_its_grey_levels_cell(grey, seed):
    continuous = dequantize(grey, np.random.default_rng(seed))
    assert continuous.shape == grey.shape
    assert continuous.dtype == np.float64
    assert np.all((continuous >= 0) & (continuous < 1))
    # level g owns the cell [g/17, (g+1)/17)
    np.testing.assert_array_equal(np.floor(continuous * 17), grey)


def test_dequantize_is_reproducible_and_varies_with_the_seed():
    grey, _ = load_digits("test", view="grey")
    first = dequantize(grey, np.random.default_rng(3))
    again = dequantize(grey, np.random.default_rng(3))
    other = dequantize(grey, np.random.default_rng(4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.float32


def test_dequantize_noise_is_uniform_within_cells():
    grey = np.zeros(20_000)
    noise = 17 * dequantize(grey, np.random.default_rng(0))
    # U[0, 1): mean 1/2, variance 1/12
    assert abs(noise.mean() - 0.5) < 0.01
    assert abs(noise.var() - 1 / 12) < 0.005


@pytest.mark.parametrize("bad_grey", [np.array([17.0]), np.array([-1.0]), np.array([2.5])])
def test_dequantize_rejects_values_that_are_not_grey_levels(bad_grey):
    with pytest.raises(ValueError, match="x_grey"):
        dequantize(bad_grey, np.random.default_rng(0))


@pytest.mark.parametrize("bad_rng", [None, 0, np.random.RandomState(0)])
def test_dequantize_requires_a_generator(bad_rng):
    with pytest.raises(TypeError, match="rng"):
        dequantize(np.zeros(3), bad_rng)
