"""FVSBN with an AR(k) window: its receptive field, parameter count and Markov case.

The properties it shares with every autoregressive model are in
test_explicit_density_properties.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.models.autoregressive.fvsbn import FVSBN
from tests.models.autoregressive.helpers import binary_vectors, logit_jacobian, small_model


def expected_num_parameters(num_dims: int, window: int) -> int:
    return num_dims + sum(min(i, window) for i in range(num_dims))


@given(st.integers(2, 8), st.integers(1, 8), st.integers(0, 2**31))
def test_logit_i_depends_exactly_on_the_k_pixels_before_it(num_dims, window, seed):
    model = FVSBN((num_dims,), rng=np.random.default_rng(seed), window=window)
    model.astype(np.float64)
    x = np.random.default_rng(seed + 1).random((3, num_dims))
    jacobian = logit_jacobian(model.logits, x)
    i, j = np.indices(jacobian.shape)
    in_window = (j < i) & (j >= i - window)
    assert np.all(jacobian[~in_window] == 0)
    assert np.all(jacobian[in_window] != 0)


@given(st.integers(1, 70), st.integers(1, 80))
def test_num_parameters_is_d_plus_sum_of_min_i_k(num_dims, window):
    model = FVSBN((num_dims,), rng=np.random.default_rng(0), window=window)
    assert model.num_parameters() == expected_num_parameters(num_dims, window)


def test_window_one_has_2d_minus_1_parameters_and_full_window_d_d_plus_1_over_2():
    assert FVSBN((1, 8, 8), rng=np.random.default_rng(0), window=1).num_parameters() == 127
    full = FVSBN((1, 8, 8), rng=np.random.default_rng(0), window=None)
    assert full.num_parameters() == 64 * 65 // 2


def conditional_of_last(joint: np.ndarray, num_dims: int, i: int) -> np.ndarray:
    """p(x_i = 1 | x_<i) from the joint over binary_vectors(D), shaped (2,)*i."""
    marginal = joint.reshape((2,) * num_dims).sum(axis=tuple(range(i + 1, num_dims)))
    return marginal[..., 1] / marginal.sum(axis=-1)


@pytest.mark.parametrize("seed", [0, 1])
def test_window_one_is_a_markov_chain(seed):
    num_dims = 5
    markov = small_model("fvsbn", (num_dims,), seed, noise=2.0, window=1)
    full = small_model("fvsbn", (num_dims,), seed, noise=2.0, window=None)
    for i in range(2, num_dims):
        # p(x_i | x_<i) from enumeration: the same for every x_<i−1 given x_i−1
        markov_conditional = conditional_of_last(
            np.exp(markov.log_prob(binary_vectors(num_dims))), num_dims, i)
        spread = markov_conditional.reshape(-1, 2).max(0) - markov_conditional.reshape(
            -1, 2).min(0)
        assert np.all(spread < 1e-12)
        full_conditional = conditional_of_last(
            np.exp(full.log_prob(binary_vectors(num_dims))), num_dims, i)
        assert np.ptp(full_conditional.reshape(-1, 2), axis=0).max() > 1e-3


def test_rejects_bad_window_and_shapes():
    with pytest.raises(ValueError, match="window"):
        FVSBN((4,), rng=np.random.default_rng(0), window=0)
    model = FVSBN((4,), rng=np.random.default_rng(0), window=None)
    with pytest.raises(ValueError, match=r"expected \(N, 4\)"):
        model.log_prob(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="x_top"):
        model.complete(np.zeros((2, 3)), np.random.default_rng(0))
