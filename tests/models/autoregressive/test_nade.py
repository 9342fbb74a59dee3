"""NADE (Larochelle & Murray, 2011): its logits against the explicit per-dimension loop.

The properties it shares with every autoregressive model are in
test_explicit_density_properties.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.models.autoregressive.nade import NADE
from tests.models.autoregressive.helpers import small_model


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@given(st.integers(1, 8), st.integers(1, 6), st.integers(0, 2**31))
def test_logits_equal_an_explicit_loop_over_dimensions(num_dims, hidden, seed):
    model = small_model("nade", (num_dims,), seed, noise=3.0, hidden=hidden)
    x = (np.random.default_rng(seed + 1).random((4, num_dims)) < 0.5).astype(float)
    W, c = model.input_weight.data, model.hidden_bias.data
    V, b = model.output_weight.data, model.output_bias.data
    expected = np.zeros_like(x)
    for n in range(len(x)):
        for i in range(num_dims):
            h = sigmoid(c + W[:, :i] @ x[n, :i])  # h_i = σ(c + W_{:,<i} x_<i)
            expected[n, i] = b[i] + V[i] @ h
    np.testing.assert_allclose(model.logits(x).data, expected, rtol=1e-10, atol=1e-10)


def test_rejects_bad_hidden_size_and_shapes():
    with pytest.raises(ValueError, match="hidden"):
        NADE((4,), rng=np.random.default_rng(0), hidden=0)
    model = NADE((4,), rng=np.random.default_rng(0), hidden=2)
    with pytest.raises(ValueError, match=r"expected \(N, 4\)"):
        model.loss(np.zeros((2, 1, 2, 2)))
