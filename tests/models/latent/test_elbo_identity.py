"""The ELBO decomposition, checked exactly on a linear-Gaussian model with closed forms."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from minigen.models.latent.linear_gaussian import LinearGaussian

reals = st.floats(-2.0, 2.0)


@st.composite
def model_data_and_q(draw):
    data_dim = draw(st.integers(1, 5))
    latent_dim = draw(st.integers(1, 4))
    num = draw(st.integers(1, 4))
    weight = draw(arrays(np.float64, (data_dim, latent_dim), elements=reals))
    bias = draw(arrays(np.float64, (data_dim,), elements=reals))
    noise_log_scale = draw(st.floats(-1.5, 1.0))
    x = draw(arrays(np.float64, (num, data_dim), elements=st.floats(-4.0, 4.0)))
    q_mean = draw(arrays(np.float64, (num, latent_dim), elements=reals))
    q_log_scale = draw(arrays(np.float64, (num, latent_dim), elements=st.floats(-2.0, 1.0)))
    return LinearGaussian(weight, bias, noise_log_scale), x, q_mean, q_log_scale


def scipy_log_evidence(model, x):
    covariance = model.weight @ model.weight.T + np.exp(2 * model.noise_log_scale) * np.eye(
        model.data_dim)
    return stats.multivariate_normal(model.bias, covariance).logpdf(x).reshape(len(x))


@given(model_data_and_q())
def test_elbo_plus_kl_to_posterior_equals_log_evidence(case):
    model, x, q_mean, q_log_scale = case
    total = model.elbo(x, q_mean, q_log_scale) + model.kl_to_posterior(x, q_mean, q_log_scale)
    np.testing.assert_allclose(total, scipy_log_evidence(model, x), rtol=0, atol=1e-8)


@given(model_data_and_q())
def test_log_evidence_matches_scipy_and_bounds_the_elbo(case):
    model, x, q_mean, q_log_scale = case
    np.testing.assert_allclose(model.log_evidence(x), scipy_log_evidence(model, x), atol=1e-9)
    assert np.all(model.kl_to_posterior(x, q_mean, q_log_scale) >= -1e-10)
    assert np.all(model.elbo(x, q_mean, q_log_scale) <= model.log_evidence(x) + 1e-10)


@given(model_data_and_q())
def test_posterior_is_bayes_rule(case):
    # p(z|x) = p(x|z) p(z) / p(x) at any z: check the density identity pointwise.
    model, x, q_mean, _ = case
    means, covariance = model.posterior(x)
    for i in range(len(x)):
        log_posterior = stats.multivariate_normal(means[i], covariance).logpdf(q_mean[i])
        log_bayes = model.log_joint(x[i:i + 1], q_mean[i:i + 1])[0] - model.log_evidence(
            x[i:i + 1])[0]
        assert log_posterior == pytest.approx(log_bayes, abs=1e-8)


@given(seed=st.integers(0, 2**32 - 1), data_dim=st.integers(2, 6), latent_dim=st.integers(1, 2))
def test_elbo_equals_log_evidence_at_the_exact_posterior(seed, data_dim, latent_dim):
    # Orthogonal columns make WᵀW diagonal, so the exact posterior is a diagonal Gaussian
    # and q can equal it; the ELBO is then tight and any other q is worse.
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((data_dim, latent_dim)))
    weight = basis * rng.uniform(0.3, 2.0, size=latent_dim)
    model = LinearGaussian(weight, rng.standard_normal(data_dim), rng.uniform(-1.0, 0.5))
    x = rng.standard_normal((3, data_dim))
    means, covariance = model.posterior(x)
    assert np.allclose(covariance, np.diag(np.diag(covariance)), atol=1e-12)
    log_scale = np.broadcast_to(0.5 * np.log(np.diag(covariance)), means.shape)
    np.testing.assert_allclose(model.elbo(x, means, log_scale), model.log_evidence(x),
                               atol=1e-10)
    np.testing.assert_allclose(model.kl_to_posterior(x, means, log_scale), 0.0, atol=1e-10)
    worse = model.elbo(x, means + 0.1, log_scale - 0.1)
    assert np.all(worse < model.log_evidence(x))


def test_monte_carlo_elbo_and_iwae_are_ordered_below_the_log_evidence():
    # E[IWAE_1] = ELBO ≤ E[IWAE_5] ≤ E[IWAE_50] ≤ log p(x), for a deliberately poor q.
    rng = np.random.default_rng(0)
    model = LinearGaussian(rng.standard_normal((4, 2)), rng.standard_normal(4), -0.5)
    x = rng.standard_normal((1, 4))
    means, covariance = model.posterior(x)
    q_mean = means + 0.5
    q_log_scale = 0.5 * np.log(np.diag(covariance))[None, :] + 0.4
    repeats = 4000  # independent draws of each estimator: x repeated along the batch
    tiled = [np.repeat(a, repeats, axis=0) for a in (x, q_mean, q_log_scale)]
    estimates = {}
    for k in (1, 5, 50):
        draws = model.iwae(*tiled, k, rng)
        estimates[k] = (draws.mean(), draws.std() / np.sqrt(repeats))
    elbo = model.elbo(x, q_mean, q_log_scale)[0]
    log_evidence = model.log_evidence(x)[0]
    mean_1, error_1 = estimates[1]
    assert abs(mean_1 - elbo) < 4 * error_1  # IWAE_1 is an unbiased ELBO estimate
    assert elbo < estimates[5][0] - 4 * estimates[5][1]
    assert estimates[5][0] + 4 * estimates[5][1] < estimates[50][0] - 4 * estimates[50][1]
    assert estimates[50][0] < log_evidence
    assert log_evidence - estimates[50][0] < log_evidence - elbo  # the gap closes with k


def test_mismatched_shapes_are_refused():
    model = LinearGaussian(np.ones((3, 2)), np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="expected"):
        model.elbo(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="bias"):
        LinearGaussian(np.ones((3, 2)), np.zeros(2), 0.0)
