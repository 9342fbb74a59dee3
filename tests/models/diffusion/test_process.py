"""The diffusion process: closed-form marginals, the posterior by Bayes' rule, β̃ at the
first step, the exact ε* of a Gaussian mixture, and the variational bound."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.models.diffusion.process import (
    GaussianDiffusion,
    cosine_betas,
    evenly_spaced,
    linear_betas,
    mixture_optimal_eps,
)

SCHEDULES = st.sampled_from(["linear", "cosine"])


@given(SCHEDULES, st.integers(30, 400), st.floats(-3, 3))
def test_iterating_the_forward_step_gives_the_closed_form_mean_and_variance(schedule, T, x0):
    process = GaussianDiffusion.from_schedule(schedule, T)
    mean, variance = x0, 0.0
    for t in range(1, T + 1):
        mean = np.sqrt(1 - process.betas[t]) * mean  # E[x_t] = √(1 − β_t) E[x_{t−1}]
        variance = (1 - process.betas[t]) * variance + process.betas[t]
        closed_mean, closed_variance = process.q_mean_variance(np.array(x0), t)
        assert mean == pytest.approx(float(closed_mean), abs=1e-12)
        assert variance == pytest.approx(closed_variance, abs=1e-12)


def test_iterating_the_forward_step_matches_the_closed_form_by_monte_carlo():
    rng = np.random.default_rng(0)
    process = GaussianDiffusion.from_schedule("linear", 100)
    x0 = np.full(20000, 1.5)
    x = x0.copy()
    for t in range(1, 31):
        x = process.q_step(x, t, rng.standard_normal(x.shape))
    mean, variance = process.q_mean_variance(x0[:1], 30)
    standard_error = np.sqrt(variance / len(x))
    assert abs(x.mean() - mean[0]) < 4 * standard_error
    assert abs(x.var() - variance) < 4 * variance * np.sqrt(2 / len(x))
    direct = process.q_sample(x0, 30, rng.standard_normal(x0.shape))
    assert abs(direct.mean() - x.mean()) < 6 * standard_error


@given(SCHEDULES, st.integers(2, 60), st.floats(-2, 2), st.floats(-3, 3))
def test_posterior_mean_and_variance_match_bayes_rule_on_a_grid(schedule, t, x0, x_t):
    process = GaussianDiffusion.from_schedule(schedule, 60)
    prior_mean, prior_var = process.q_mean_variance(np.array(x0), t - 1)
    beta = process.betas[t]
    # a grid over both the prior's and the likelihood's mass, ±12 standard deviations
    centres = (float(prior_mean), x_t / np.sqrt(1 - beta))
    spread = 12 * max(np.sqrt(prior_var), np.sqrt(beta / (1 - beta)))
    grid = np.linspace(min(centres) - spread, max(centres) + spread, 400001)
    # log q(x_{t−1} | x_0) + log q(x_t | x_{t−1}), normalised numerically over x_{t−1}
    log_joint = (-0.5 * (grid - prior_mean) ** 2 / prior_var
                 - 0.5 * (x_t - np.sqrt(1 - beta) * grid) ** 2 / beta)
    weights = np.exp(log_joint - log_joint.max())
    weights /= weights.sum()
    bayes_mean = (weights * grid).sum()
    bayes_var = (weights * (grid - bayes_mean) ** 2).sum()
    mean, variance, _ = process.posterior_mean_variance(np.array(x0), np.array(x_t), t)
    assert float(mean) == pytest.approx(bayes_mean, abs=1e-7)
    assert variance == pytest.approx(bayes_var, rel=1e-5)


def test_posterior_variance_is_zero_at_the_first_step_and_its_log_is_clipped():
    process = GaussianDiffusion.from_schedule("linear", 50)
    assert process.posterior_variance[1] == 0.0
    assert np.all(process.posterior_variance[2:] > 0)
    clipped = process.posterior_log_variance_clipped
    assert np.isfinite(clipped).all()
    assert clipped[1] == np.log(process.posterior_variance[2])
    np.testing.assert_allclose(clipped[2:], np.log(process.posterior_variance[2:]), rtol=1e-14)
    mean, variance, _ = process.posterior_mean_variance(np.array(0.7), np.array(-0.2), 1)
    assert float(mean) == pytest.approx(0.7) and variance == 0.0  # q(x_0 | x_1, x_0) = δ


def test_reverse_mean_with_the_true_noise_is_the_posterior_mean():
    rng = np.random.default_rng(1)
    process = GaussianDiffusion.from_schedule("cosine", 80)
    x0, noise = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    for t in (1, 2, 40, 80):
        x_t = process.q_sample(x0, t, noise)
        mean, _ = process.p_mean_variance(x_t, t, noise)
        posterior_mean, _, _ = process.posterior_mean_variance(x0, x_t, t)
        np.testing.assert_allclose(mean, posterior_mean, atol=1e-10)
        np.testing.assert_allclose(process.predict_x0(x_t, t, noise), x0, atol=1e-9)
        assert process.reverse_variance(t, "large") == process.betas[t]


def test_schedules_end_in_noise_and_respacing_keeps_alpha_bar():
    for betas in (linear_betas(1000), linear_betas(200), cosine_betas(200)):
        assert np.prod(1 - betas) < 1e-3
    process = GaussianDiffusion.from_schedule("linear", 200)
    steps = evenly_spaced(20, 200)
    assert steps[-1] == 200 and len(steps) == 20 and np.all(np.diff(steps) > 0)
    np.testing.assert_allclose(process.respaced(steps).alpha_bar[1:], process.alpha_bar[steps],
                               rtol=1e-12)
    with pytest.raises(ValueError, match="strictly increasing"):
        process.respaced(np.array([5, 3]))
    with pytest.raises(ValueError, match="t must be an int in"):
        process.q_mean_variance(np.zeros(2), 0)


def test_mixture_optimal_eps_is_the_scaled_score_of_the_noisy_marginal():
    rng = np.random.default_rng(2)
    weights, means, variances = np.array([0.3, 0.7]), rng.standard_normal((2, 2)), np.array(
        [0.2, 0.5])
    alpha_bar, x_t = 0.6, rng.standard_normal((4, 2))

    def log_marginal(x):
        var = alpha_bar * variances + 1 - alpha_bar
        diff = x[:, None] - np.sqrt(alpha_bar) * means
        return np.log((weights * np.exp(-0.5 * (diff ** 2).sum(-1) / var)
                       / (2 * np.pi * var)).sum(1))

    h = 1e-6
    score = np.stack([(log_marginal(x_t + h * e) - log_marginal(x_t - h * e)) / (2 * h)
                      for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(mixture_optimal_eps(x_t, alpha_bar, weights, means, variances),
                               -np.sqrt(1 - alpha_bar) * score, atol=1e-7)


def _gaussian_setup(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    mean, variance = np.array([[0.5, -0.3]]), 0.3
    x0 = mean + np.sqrt(variance) * rng.standard_normal((n, 2))
    nll = 0.5 * ((x0 - mean) ** 2 / variance).sum(1) + np.log(2 * np.pi * variance)
    return rng, mean, variance, x0, nll


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_bound_with_exact_eps_and_variances_of_a_gaussian_is_its_negative_log_density(schedule):
    rng, mean, variance, x0, nll = _gaussian_setup()
    process = GaussianDiffusion.from_schedule(schedule, 100)

    def eps(x, t):
        return mixture_optimal_eps(x, process.alpha_bar[t], np.ones(1), mean, np.array([variance]))

    bound = process.variational_bound(eps, x0, rng, process.gaussian_reverse_variances(variance))
    gap = bound - nll
    assert abs(gap.mean()) < 4 * gap.std() / np.sqrt(len(gap)) + 1e-3


def test_bound_with_posterior_variance_is_above_the_negative_log_density():
    # σ_t² = β̃_t is below the true reverse variance at small t, so the bound is loose there
    # by ≈ Σ_t (1/t)²/4 per dimension whatever T (Bao et al., 2022, Analytic-DPM).
    rng, mean, variance, x0, nll = _gaussian_setup(500)
    process = GaussianDiffusion.from_schedule("linear", 200)

    def eps(x, t):
        return mixture_optimal_eps(x, process.alpha_bar[t], np.ones(1), mean, np.array([variance]))

    terms = process.bound_terms(eps, x0, rng)
    assert terms.shape == (500, 201)
    assert terms[:, 0].mean() < 1e-3  # L_T ≈ 0: q(x_T | x_0) ≈ N(0, I)
    assert terms.sum(1).mean() > nll.mean() + 0.5
