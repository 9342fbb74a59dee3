"""Embedding (lookup, accumulated gradients, torch parity) and Dropout (inverted dropout)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import autograd as ag
from minigen.nn import Dropout, Embedding, Linear, Sequential, dropout

RNG = np.random.default_rng


# ----- Embedding --------------------------------------------------------------------------


@given(arrays(np.int64, st.tuples(st.integers(1, 3), st.integers(1, 5)),
              elements=st.integers(0, 4)))
def test_embedding_gradient_of_a_row_counts_its_uses(indices):
    table = Embedding(5, 3, rng=RNG(0))
    table(indices).sum().backward()
    counts = np.bincount(indices.ravel(), minlength=5)
    np.testing.assert_array_equal(table.weight.grad, np.repeat(counts[:, None], 3, axis=1))


def test_embedding_looks_up_rows_with_the_index_shape():
    table = Embedding(6, 2, rng=RNG(1))
    indices = np.array([[5, 0, 5], [1, 2, 3]])
    out = table(indices)
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out.data, table.weight.data[indices])


def test_embedding_is_initialised_standard_normal():
    weight = Embedding(2000, 8, rng=RNG(2)).weight.data
    assert weight.dtype == np.float32
    assert abs(weight.mean()) < 0.02 and abs(weight.std() - 1) < 0.02


def test_embedding_gradcheck():
    table = Embedding(4, 3, rng=RNG(3)).astype(np.float64)
    indices = np.array([0, 2, 2, 3])
    ag.gradcheck(lambda w: table(indices) * table(indices), [table.weight])


def test_embedding_rejects_out_of_range_and_float_indices():
    table = Embedding(4, 3, rng=RNG(4))
    with pytest.raises(ValueError, match=r"\[0, 3\], got values in \[0, 4\]"):
        table(np.array([0, 4]))
    with pytest.raises(ValueError, match="-1"):
        table(np.array([-1]))
    with pytest.raises(TypeError, match="integer"):
        table(np.array([0.0, 1.0]))


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    ours = Embedding(7, 4, rng=RNG(5))
    theirs = torch.nn.Embedding(7, 4)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    indices = RNG(6).integers(0, 7, size=(3, 5))
    direction = RNG(7).standard_normal((3, 5, 4)).astype(np.float32)
    out, expected = ours(indices), theirs(torch.tensor(indices))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    (out * direction).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-5)


# ----- Dropout ----------------------------------------------------------------------------


@given(st.floats(0.05, 0.95), st.integers(0, 2 ** 16))
def test_dropout_keeps_entries_scaled_by_one_over_one_minus_p(p, seed):
    x = RNG(seed).uniform(1, 2, size=(40, 50))
    y = Dropout(p)(x, RNG(seed + 1)).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-12)
    # The number kept is Binomial(2000, 1 − p): within 5 standard deviations.
    assert abs(kept.sum() - 2000 * (1 - p)) < 5 * np.sqrt(2000 * p * (1 - p))


def test_dropout_preserves_the_mean():
    x = np.ones(200_000)
    assert abs(dropout(x, 0.3, RNG(0)).data.mean() - 1) < 0.01


def test_dropout_gradient_is_the_scaled_mask():
    x = ag.Tensor(np.ones((4, 6)), requires_grad=True)
    y = Dropout(0.5)(x, RNG(1))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # x = 1: y = mask / (1 − p) = ∂y/∂x


def test_dropout_is_the_identity_in_eval_mode_and_needs_no_rng():
    layer = Dropout(0.5).eval()
    x = RNG(2).standard_normal((3, 3))
    np.testing.assert_array_equal(layer(x).data, x)


def test_dropout_in_training_without_rng_is_a_clear_error():
    with pytest.raises(TypeError, match="needs rng"):
        Dropout(0.5)(np.ones(3))
    with pytest.raises(TypeError, match="needs rng"):
        Sequential(Dropout(0.1))(np.ones(3))


def test_same_rng_seed_gives_the_same_mask():
    x = np.ones((5, 5))
    np.testing.assert_array_equal(dropout(x, 0.4, RNG(9)).data, dropout(x, 0.4, RNG(9)).data)


def test_dropout_extremes_and_bad_probabilities():
    x = np.ones(5, dtype=np.float32)
    np.testing.assert_array_equal(Dropout(0.0)(x).data, x)
    np.testing.assert_array_equal(Dropout(1.0)(x, RNG(0)).data, np.zeros(5))
    assert Dropout(0.3)(x, RNG(0)).dtype == np.float32
    with pytest.raises(ValueError, match="p must be a probability"):
        Dropout(1.5)


def test_dropout_inside_a_container_gets_the_rng_in_training_mode():
    net = Sequential(Linear(4, 8, rng=np.random.default_rng(0)), Dropout(0.5),
                     Sequential(Dropout(0.5)))
    x = np.ones((3, 4), np.float32)
    first = net(x, np.random.default_rng(1)).data
    again = net(x, np.random.default_rng(1)).data
    other = net(x, np.random.default_rng(2)).data
    np.testing.assert_array_equal(first, again)  # the rng decides the masks
    assert not np.array_equal(first, other)
    net.eval()
    np.testing.assert_array_equal(net(x).data, net(x, np.random.default_rng(3)).data)
