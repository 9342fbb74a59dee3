"""The sinusoidal timestep embedding: layout, bounds, and e(t)·e(s) depending on t − s."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.nn import SinusoidalTimestepEmbedding, timestep_embedding


def test_embedding_is_cosines_then_sines_of_geometric_frequencies():
    e = timestep_embedding(np.array([0, 3]), 8, dtype=np.float64)
    frequencies = 10000.0 ** (-np.arange(4) / 4)
    np.testing.assert_allclose(e[0], [1, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(e[1, :4], np.cos(3 * frequencies))
    np.testing.assert_allclose(e[1, 4:], np.sin(3 * frequencies))


@given(st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 500))
def test_inner_product_depends_only_on_the_step_difference(t, s, shift):
    e = timestep_embedding(np.array([t, s, t + shift, s + shift]), 32, dtype=np.float64)
    assert e[0] @ e[1] == pytest.approx(e[2] @ e[3], abs=1e-9)
    assert e[0] @ e[0] == pytest.approx(16.0)  # |e(t)|² = h


def test_distinct_steps_get_distinct_embeddings():
    e = timestep_embedding(np.arange(1, 1001), 64, dtype=np.float64)
    distances = np.sqrt(((e[1:] - e[:-1]) ** 2).sum(1))
    assert distances.min() > 1e-3


def test_module_returns_a_constant_tensor_and_checks_dim():
    module = SinusoidalTimestepEmbedding(16)
    out = module(np.array([1, 2, 3]))
    assert out.shape == (3, 16) and out.dtype == np.float32 and not out.requires_grad
    assert module.num_parameters() == 0
    with pytest.raises(ValueError, match="even int"):
        timestep_embedding(np.array([1]), 7)
    with pytest.raises(ValueError, match=r"must be \(N,\)"):
        timestep_embedding(np.array([[1]]), 8)
