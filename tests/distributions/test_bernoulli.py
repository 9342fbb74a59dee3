"""Bernoulli(logits): log p = x·l − softplus(l) against scipy, stability, samples, torch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special, stats

import autograd as ag
from minigen.distributions import Bernoulli

logit_arrays = hnp.arrays(np.float64, 6, elements=st.floats(-15, 15))


@given(logits=logit_arrays, x=hnp.arrays(np.int64, 6, elements=st.integers(0, 1)))
def test_log_prob_equals_scipy_bernoulli_logpmf(logits, x):
    ours = Bernoulli(logits).log_prob(x).data
    expected = stats.bernoulli.logpmf(x, special.expit(logits))
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-9)


@given(logits=logit_arrays)
def test_entropy_equals_scipy(logits):
    expected = stats.bernoulli.entropy(special.expit(logits))
    np.testing.assert_allclose(Bernoulli(logits).entropy().data, expected, rtol=1e-6,
                               atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_prob_and_gradient_are_finite_and_exact_at_logits_plus_minus_1e4(dtype):
    logits = ag.Tensor(np.array([1e4, 1e4, -1e4, -1e4], dtype=dtype), requires_grad=True)
    x = np.array([1.0, 0.0, 1.0, 0.0])
    log_prob = Bernoulli(logits).log_prob(x)
    # log σ(1e4) ≈ 0, log(1 − σ(1e4)) ≈ −1e4: the exact answers, not −inf.
    np.testing.assert_allclose(log_prob.data, [0.0, -1e4, -1e4, 0.0])
    log_prob.sum().backward()
    np.testing.assert_allclose(logits.grad, x - special.expit(logits.data.astype(float)))
    entropy = Bernoulli(logits).entropy().data
    assert np.all(np.isfinite(entropy)) and np.all(entropy >= 0)


@given(seed=st.integers(0, 2**31), logit=st.floats(-4, 4))
def test_sample_mean_matches_sigmoid_of_logits(seed, logit):
    dist = Bernoulli(np.array([logit]))
    draws = dist.sample(np.random.default_rng(seed), 4000)
    p = float(dist.mean.data[0])
    assert set(np.unique(draws)) <= {0.0, 1.0}
    assert abs(draws.mean() - p) < 5 * np.sqrt(p * (1 - p) / 4000) + 1e-3
    np.testing.assert_allclose(dist.probs.data, special.expit([logit]))


def test_log_prob_passes_gradcheck():
    logits = ag.Tensor(np.array([[-2.0, 0.1], [3.0, 0.5]]), requires_grad=True)
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert ag.gradcheck(lambda l: Bernoulli(l).log_prob(x), [logits], order=2)
    assert ag.gradcheck(lambda l: Bernoulli(l).entropy(), [logits], order=2)


def test_matches_torch_distributions():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits = 3 * rng.standard_normal((4, 3))
    x = (rng.random((4, 3)) < 0.5).astype(float)
    theirs = torch.distributions.Bernoulli(logits=torch.tensor(logits))
    ours = Bernoulli(logits)
    np.testing.assert_allclose(ours.log_prob(x).data, theirs.log_prob(torch.tensor(x)).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(ours.entropy().data, theirs.entropy().numpy(), rtol=1e-10)


def test_float32_is_preserved_and_shapes_are_checked():
    dist = Bernoulli(np.zeros((2, 3), dtype=np.float32))
    assert dist.log_prob(np.ones((5, 2, 3))).dtype == np.float32
    assert dist.sample(np.random.default_rng(0), 5).shape == (5, 2, 3)
    assert dist.sample(np.random.default_rng(0)).dtype == np.float32
    with pytest.raises(ValueError, match=r"value of shape \(4,\).*batch shape \(2, 3\)"):
        dist.log_prob(np.ones(4))
