"""kl_divergence: closed forms against Monte Carlo, KL(p‖p) = 0, KL ≥ 0, torch parity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from minigen.distributions import Bernoulli, Categorical, Normal, kl_divergence

params4 = hnp.arrays(np.float64, 4, elements=st.floats(-3, 3))
tables = hnp.arrays(np.float64, (2, 5), elements=st.floats(-6, 6))


def _monte_carlo(p, q, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    log_ratio = p.log_prob(draws).data - q.log_prob(draws).data
    return log_ratio.mean(axis=0), log_ratio.std(axis=0) / np.sqrt(len(draws))


@pytest.mark.parametrize("seed", [0, 1])
def test_normal_kl_equals_monte_carlo_estimate(seed):
    rng = np.random.default_rng(seed)
    p = Normal(rng.standard_normal(3), 0.5 * rng.standard_normal(3))
    q = Normal(rng.standard_normal(3), 0.5 * rng.standard_normal(3))
    estimate, standard_error = _monte_carlo(p, q, p.sample(rng, 50_000))
    assert np.all(np.abs(kl_divergence(p, q).data - estimate) < 5 * standard_error)


@pytest.mark.parametrize("seed", [0, 1])
def test_categorical_kl_equals_monte_carlo_estimate(seed):
    rng = np.random.default_rng(seed)
    p, q = Categorical(rng.standard_normal((2, 5))), Categorical(rng.standard_normal((2, 5)))
    estimate, standard_error = _monte_carlo(p, q, p.sample(rng, 50_000))
    assert np.all(np.abs(kl_divergence(p, q).data - estimate) < 5 * standard_error)


def test_bernoulli_kl_equals_monte_carlo_estimate():
    rng = np.random.default_rng(2)
    p, q = Bernoulli(rng.standard_normal(3)), Bernoulli(rng.standard_normal(3))
    estimate, standard_error = _monte_carlo(p, q, p.sample(rng, 50_000))
    assert np.all(np.abs(kl_divergence(p, q).data - estimate) < 5 * standard_error)


@given(loc=params4, log_scale=params4, loc2=params4, log_scale2=params4)
def test_normal_kl_is_zero_for_equal_and_non_negative_otherwise(loc, log_scale, loc2,
                                                                log_scale2):
    p, q = Normal(loc, log_scale), Normal(loc2, log_scale2)
    np.testing.assert_allclose(kl_divergence(p, p).data, 0.0, atol=1e-12)
    assert np.all(kl_divergence(p, q).data >= -1e-12)  # ≥ 0 up to rounding of e^r − 1 − r


@given(a=tables, b=tables)
def test_categorical_kl_is_zero_for_equal_and_non_negative_otherwise(a, b):
    p, q = Categorical(a), Categorical(b)
    np.testing.assert_allclose(kl_divergence(p, p).data, 0.0, atol=1e-12)
    assert kl_divergence(p, q).shape == (2,)
    assert np.all(kl_divergence(p, q).data >= -1e-12)


@given(a=params4, b=params4)
def test_bernoulli_kl_is_zero_for_equal_and_non_negative_otherwise(a, b):
    p, q = Bernoulli(a), Bernoulli(b)
    np.testing.assert_allclose(kl_divergence(p, p).data, 0.0, atol=1e-12)
    assert np.all(kl_divergence(p, q).data >= -1e-12)


@given(loc=params4, log_scale=params4)
def test_normal_kl_to_standard_normal_is_the_vae_formula(loc, log_scale):
    # KL(N(μ, σ²) ‖ N(0, 1)) = −½ (1 + 2 log σ − μ² − σ²)
    expected = -0.5 * (1 + 2 * log_scale - loc**2 - np.exp(2 * log_scale))
    got = kl_divergence(Normal(loc, log_scale), Normal.standard((4,), np.float64)).data
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_kl_gradients_pass_gradcheck():
    rng = np.random.default_rng(3)
    a, b, c, d = (ag.Tensor(rng.standard_normal(3), requires_grad=True) for _ in range(4))
    assert ag.gradcheck(lambda a, b, c, d: kl_divergence(Normal(a, b), Normal(c, d)),
                        [a, b, c, d], order=2)
    x, y = (ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(2))
    assert ag.gradcheck(lambda x, y: kl_divergence(Categorical(x), Categorical(y)), [x, y])


def test_matches_torch_kl_divergence():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    rng = np.random.default_rng(4)
    m1, s1, m2, s2 = rng.standard_normal((4, 6))
    ours = kl_divergence(Normal(m1, s1), Normal(m2, s2)).data
    theirs = td.kl_divergence(td.Normal(torch.tensor(m1), torch.tensor(np.exp(s1))),
                              td.Normal(torch.tensor(m2), torch.tensor(np.exp(s2))))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10)
    l1, l2 = rng.standard_normal((2, 3, 5))
    ours = kl_divergence(Categorical(l1), Categorical(l2)).data
    theirs = td.kl_divergence(td.Categorical(logits=torch.tensor(l1)),
                              td.Categorical(logits=torch.tensor(l2)))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10)


def test_unsupported_pairs_raise_not_implemented_naming_both_types():
    with pytest.raises(NotImplementedError, match="Normal ‖ Bernoulli"):
        kl_divergence(Normal(0.0, 0.0), Bernoulli(0.0))
    with pytest.raises(ValueError, match="5 categories but q has 3"):
        kl_divergence(Categorical(np.zeros(5)), Categorical(np.zeros(3)))
    with pytest.raises(ValueError, match=r"p \(3,\), q \(4,\)"):
        kl_divergence(Normal(np.zeros(3), 0.0), Normal(np.zeros(4), 0.0))
