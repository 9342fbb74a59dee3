"""The translation domains of the digits: morphology, rotation, pixelation, and the splits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minigen.data import (
    DATASETS,
    DOMAIN_NAMES,
    TRANSLATION_SETS,
    dilate,
    erode_rows,
    get_dataset,
    get_fields,
    load_digits,
    pixelate,
    rotate90,
    to_domain,
)

signed_images = arrays(np.float64, st.tuples(st.integers(1, 3), st.just(1),
                                             st.integers(1, 4).map(lambda h: 2 * h),
                                             st.integers(1, 4).map(lambda w: 2 * w)),
                       elements=st.floats(-1, 1))


@settings(max_examples=40, deadline=None)
@given(signed_images)
def test_dilation_and_erosion_are_a_max_and_a_min_over_the_row_element(x):
    left = np.pad(x, ((0, 0), (0, 0), (0, 0), (1, 0)), constant_values=-1)[..., :-1]
    right = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, 1)), constant_values=-1)[..., 1:]
    np.testing.assert_array_equal(dilate(x), np.maximum(x, left))
    np.testing.assert_array_equal(erode_rows(x), np.minimum(x, right))
    assert (dilate(x) >= x).all() and (erode_rows(x) <= x).all()
    # an opening is anti-extensive: eroding then dilating never adds ink
    assert (dilate(erode_rows(x)) <= x).all()


@settings(max_examples=40, deadline=None)
@given(signed_images)
def test_rotation_has_order_four_and_pixelation_keeps_block_means(x):
    np.testing.assert_array_equal(rotate90(rotate90(rotate90(rotate90(x)))), x)
    assert rotate90(x).shape == (*x.shape[:2], x.shape[3], x.shape[2])
    p = pixelate(x)
    np.testing.assert_allclose(pixelate(p), p)  # idempotent
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(p[:, :, ::2, ::2], blocks)
    np.testing.assert_allclose(p[:, :, 1::2, 1::2], blocks)


def test_rotate90_turns_anticlockwise():
    x = np.full((1, 1, 2, 2), -1.0)
    x[0, 0, 0, 1] = 1.0  # top right
    assert rotate90(x)[0, 0, 0, 0] == 1.0  # -> top left


def test_odd_sizes_and_bad_domains_are_refused():
    with pytest.raises(ValueError, match="even"):
        pixelate(np.zeros((1, 1, 3, 4)))
    with pytest.raises(ValueError, match="domain"):
        to_domain(np.zeros((2, 1, 8, 8)), np.array([0, 4]))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        dilate(np.zeros((8, 8)))


@pytest.mark.parametrize("split", ["train", "test"])
def test_the_translation_sets(split):
    assert set(TRANSLATION_SETS) <= set(DATASETS)
    digits, labels = load_digits(split, view="signed")
    paired = get_fields("digits-pix2pix", split)
    np.testing.assert_array_equal(paired["x"], digits)
    np.testing.assert_array_equal(paired["source"], pixelate(digits))

    unpaired = get_fields("digits-thin-bold", split)
    assert len(unpaired["x"]) == len(unpaired["x_b"]) == len(digits) // 2
    # dealt in turn: domain A gets the even rows, B the odd ones, so no digit is in both
    np.testing.assert_array_equal(unpaired["x"], erode_rows(digits[0:2 * (len(digits) // 2):2]))
    np.testing.assert_array_equal(unpaired["x_b"], dilate(digits[1::2][:len(digits) // 2]))
    np.testing.assert_array_equal(unpaired["y_b"], labels[1::2][:len(digits) // 2])

    domains = get_fields("digits-domains", split)
    assert np.bincount(domains["domain"]).tolist() == [
        len(range(d, len(digits), len(DOMAIN_NAMES))) for d in range(len(DOMAIN_NAMES))]
    rotated = domains["domain"] == DOMAIN_NAMES.index("rotated")
    np.testing.assert_array_equal(domains["x"][rotated], rotate90(digits[rotated]))
    for fields in (paired, unpaired, domains):
        assert len({len(v) for v in fields.values()}) == 1
        assert all(v.min() >= -1 and v.max() <= 1 for v in fields.values()
                   if v.dtype.kind == "f")
    x, y = get_dataset("digits-domains", split)
    np.testing.assert_array_equal(x, domains["x"])
    np.testing.assert_array_equal(y, domains["y"])


def test_plain_sets_give_x_and_y_fields():
    fields = get_fields("digits-binary", "test")
    assert sorted(fields) == ["x", "y"]
    np.testing.assert_array_equal(fields["x"], get_dataset("digits-binary", "test")[0])
