"""Categorical(logits) over the last axis: against scipy's multinomial, samples, torch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special, stats

import autograd as ag
from minigen.distributions import Categorical

K = 4
logit_tables = hnp.arrays(np.float64, (3, K), elements=st.floats(-10, 10))


@given(logits=logit_tables, index=hnp.arrays(np.int64, 3, elements=st.integers(0, K - 1)))
def test_log_prob_equals_scipy_multinomial_with_one_draw(logits, index):
    probs = special.softmax(logits, axis=-1)
    expected = [stats.multinomial.logpmf(np.eye(K)[i], n=1, p=p) for i, p in zip(index, probs)]
    np.testing.assert_allclose(Categorical(logits).log_prob(index).data, expected,
                               rtol=1e-9, atol=1e-9)


@given(logits=logit_tables)
def test_entropy_equals_scipy_and_probs_sum_to_one(logits):
    dist = Categorical(logits)
    expected = stats.entropy(special.softmax(logits, axis=-1), axis=-1)
    np.testing.assert_allclose(dist.entropy().data, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dist.probs.data.sum(axis=-1), 1.0)


@given(seed=st.integers(0, 2**31), logits=hnp.arrays(np.float64, K, elements=st.floats(-2, 2)))
def test_sample_frequencies_match_probabilities(seed, logits):
    n = 4000
    draws = Categorical(logits).sample(np.random.default_rng(seed), n)
    assert draws.dtype == np.int64 and draws.shape == (n,)
    frequencies = np.bincount(draws, minlength=K) / n
    p = special.softmax(logits)
    assert np.all(np.abs(frequencies - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-3)


def test_log_prob_broadcasts_sample_dimensions_over_the_batch():
    logits = np.random.default_rng(0).standard_normal((2, K))
    index = np.array([[0, 3], [1, 1], [2, 0]])  # (3 samples, 2 batch)
    got = Categorical(logits).log_prob(index).data
    expected = special.log_softmax(logits, axis=-1)[np.arange(2), index]
    np.testing.assert_allclose(got, expected)
    assert Categorical(logits).sample(np.random.default_rng(0), (5,)).shape == (5, 2)


def test_log_prob_passes_gradcheck_with_repeated_indices():
    logits = ag.Tensor(np.random.default_rng(1).standard_normal((2, K)), requires_grad=True)
    index = np.array([[0, 3], [0, 3], [2, 3]])
    assert ag.gradcheck(lambda l: Categorical(l).log_prob(index), [logits], order=2)
    assert ag.gradcheck(lambda l: Categorical(l).entropy(), [logits], order=2)


def test_entropy_with_impossible_categories_is_finite_with_finite_gradient():
    logits = ag.Tensor(np.array([0.0, -np.inf, 1.0]), requires_grad=True)
    entropy = Categorical(logits).entropy()
    expected = stats.entropy(special.softmax([0.0, 1.0]))
    np.testing.assert_allclose(entropy.data, expected)
    entropy.backward()
    assert np.all(np.isfinite(logits.grad))


def test_matches_torch_distributions():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits = 2 * rng.standard_normal((5, K))
    index = rng.integers(0, K, size=5)
    theirs = torch.distributions.Categorical(logits=torch.tensor(logits))
    ours = Categorical(logits)
    np.testing.assert_allclose(ours.log_prob(index).data,
                               theirs.log_prob(torch.tensor(index)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.entropy().data, theirs.entropy().numpy(), rtol=1e-10)


def test_float32_is_preserved():
    dist = Categorical(np.zeros((2, K), dtype=np.float32))
    assert dist.log_prob(np.array([0, 1])).dtype == np.float32
    assert dist.entropy().dtype == np.float32


def test_bad_values_raise_clear_errors():
    dist = Categorical(np.zeros((2, K)))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 4\)"):
        dist.log_prob(np.array([0, 4]))
    with pytest.raises(TypeError, match="integer category indices"):
        dist.log_prob(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"value of shape \(3,\).*batch shape \(2,\)"):
        dist.log_prob(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., K\)"):
        Categorical(np.float64(1.0))
