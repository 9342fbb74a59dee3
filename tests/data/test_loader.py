import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.data import DataLoader

sizes = st.integers(0, 60)
batch_sizes = st.integers(1, 17)


def batch_indices(loader):
    return [batch.tolist() for batch in loader]


@settings(max_examples=60, deadline=None)
@given(num_examples=sizes, batch_size=batch_sizes, shuffle=st.booleans(), seed=st.integers(0, 99))
def test_every_index_appears_exactly_once_per_epoch(num_examples, batch_size, shuffle, seed):
    loader = DataLoader(
        np.arange(num_examples),
        batch_size=batch_size,
        shuffle=shuffle,
        rng=np.random.default_rng(seed),
    )
    for _ in range(2):
        seen = [index for batch in batch_indices(loader) for index in batch]
        assert sorted(seen) == list(range(num_examples))


@settings(max_examples=60, deadline=None)
@given(num_examples=sizes, batch_size=batch_sizes, shuffle=st.booleans())
def test_drop_last_drops_only_the_short_final_batch(num_examples, batch_size, shuffle):
    loader = DataLoader(
        np.arange(num_examples),
        batch_size=batch_size,
        shuffle=shuffle,
        rng=np.random.default_rng(0),
        drop_last=True,
    )
    batches = batch_indices(loader)
    assert all(len(batch) == batch_size for batch in batches)
    assert len(batches) == num_examples // batch_size
    assert len({index for batch in batches for index in batch}) == len(batches) * batch_size


@settings(max_examples=60, deadline=None)
@given(num_examples=sizes, batch_size=batch_sizes, drop_last=st.booleans())
def test_len_is_the_number_of_batches_iterated(num_examples, batch_size, drop_last):
    loader = DataLoader(np.arange(num_examples), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(list(loader))


def test_len_counts_a_partial_last_batch():
    assert len(DataLoader(np.zeros(10), batch_size=4)) == 3
    assert len(DataLoader(np.zeros(10), batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(np.zeros(12), batch_size=4)) == 3


def test_unshuffled_batches_keep_the_original_order():
    assert batch_indices(DataLoader(np.arange(7), batch_size=3)) == [[0, 1, 2], [3, 4, 5], [6]]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_same_seed_gives_the_same_order(seed):
    first = DataLoader(np.arange(50), batch_size=8, shuffle=True, rng=np.random.default_rng(seed))
    again = DataLoader(np.arange(50), batch_size=8, shuffle=True, rng=np.random.default_rng(seed))
    assert batch_indices(first) == batch_indices(again)
    assert batch_indices(first) == batch_indices(again)


def test_shuffle_draws_a_new_order_each_epoch():
    loader = DataLoader(np.arange(100), batch_size=100, shuffle=True, rng=np.random.default_rng(0))
    first_epoch, second_epoch = batch_indices(loader), batch_indices(loader)
    assert first_epoch != second_epoch
    assert first_epoch != [list(range(100))]


def test_batches_of_several_arrays_stay_aligned():
    images = np.arange(30).reshape(10, 1, 3) * 10
    labels = np.arange(10)
    loader = DataLoader(images, labels, batch_size=4, shuffle=True, rng=np.random.default_rng(1))
    for batch_images, batch_labels in loader:
        assert batch_images.shape[1:] == (1, 3)
        np.testing.assert_array_equal(batch_images[:, 0, 0], batch_labels * 30)


def test_a_single_array_yields_arrays_not_tuples():
    batch = next(iter(DataLoader(np.zeros((5, 2)), batch_size=2)))
    assert isinstance(batch, np.ndarray)
    assert batch.shape == (2, 2)


def test_arrays_of_different_lengths_are_a_value_error_listing_them():
    with pytest.raises(ValueError, match=r"\[5, 4\]"):
        DataLoader(np.zeros(5), np.zeros(4))


@pytest.mark.parametrize("bad_rng", [None, 3])
def test_shuffle_without_a_generator_is_a_value_error(bad_rng):
    with pytest.raises(ValueError, match="rng"):
        DataLoader(np.zeros(5), shuffle=True, rng=bad_rng)


@pytest.mark.parametrize("bad_batch_size", [0, -2])
def test_batch_size_below_one_is_a_value_error(bad_batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(np.zeros(5), batch_size=bad_batch_size)


def test_no_arrays_is_a_value_error():
    with pytest.raises(ValueError, match="at least one array"):
        DataLoader()
