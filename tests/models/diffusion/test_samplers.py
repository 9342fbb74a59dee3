"""DDPM and DDIM samplers and DDIM inversion, checked with the exact ε* of a Gaussian
mixture (no network), so a failure here is a sampler bug, never a training one."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.models.diffusion.process import (
    GaussianDiffusion,
    evenly_spaced,
    mixture_optimal_eps,
)
from minigen.models.diffusion.samplers import (
    ddim_invert,
    ddim_sample,
    ddim_step,
    ddpm_sample,
    ddpm_step,
    sample_with,
)

WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
VARIANCES = np.array([0.10, 0.20, 0.05])


def _mixture_eps(process):
    return lambda x, t: mixture_optimal_eps(x, process.alpha_bar[t], WEIGHTS, MEANS, VARIANCES)


@given(st.sampled_from(["linear", "cosine"]), st.integers(0, 2 ** 16))
def test_ddim_with_eta_one_on_every_step_is_ddpm_with_posterior_variance(schedule, seed):
    rng = np.random.default_rng(seed)
    process = GaussianDiffusion.from_schedule(schedule, 100)
    for t in (1, 2, 3, 50, 99, 100):
        x_t, eps = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
        ddpm_mean, ddpm_var = ddpm_step(process, eps, x_t, t, "small")
        ddim_mean, ddim_var = ddim_step(process, eps, x_t, t, t - 1, eta=1.0)
        np.testing.assert_allclose(ddim_mean, ddpm_mean, atol=1e-10, rtol=0)
        assert abs(ddim_var - ddpm_var) < 1e-10
        assert abs(ddim_var - (process.posterior_variance[t] if t > 1 else 0.0)) < 1e-10


def test_ddim_with_eta_zero_is_deterministic():
    process = GaussianDiffusion.from_schedule("linear", 100)
    x_T = np.random.default_rng(0).standard_normal((50, 2))
    runs = [ddim_sample(process, _mixture_eps(process), x_T.shape, np.random.default_rng(seed),
                        timesteps=evenly_spaced(20, 100), x_T=x_T) for seed in (1, 2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    noisy = [ddim_sample(process, _mixture_eps(process), x_T.shape, np.random.default_rng(seed),
                         timesteps=evenly_spaced(20, 100), eta=0.5, x_T=x_T) for seed in (1, 2)]
    assert not np.allclose(noisy[0], noisy[1])


def test_ddim_inversion_round_trip_error_shrinks_with_more_steps():
    process = GaussianDiffusion.from_schedule("linear", 1000)
    eps_fn = _mixture_eps(process)
    x0 = MEANS[np.arange(30) % 3] + 0.2 * np.random.default_rng(0).standard_normal((30, 2))
    errors = []
    for steps in (10, 50, 250):
        timesteps = evenly_spaced(steps, 1000)
        x_T = ddim_invert(process, eps_fn, x0, timesteps)
        back = ddim_sample(process, eps_fn, x0.shape, np.random.default_rng(0),
                           timesteps=timesteps, x_T=x_T)
        errors.append(np.abs(back - x0).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.02


def _check_mixture_recovered(samples):
    nearest = np.argmin(((samples[:, None] - MEANS) ** 2).sum(-1), axis=1)
    n = len(samples)
    for k in range(3):
        members = samples[nearest == k]
        weight = len(members) / n
        assert abs(weight - WEIGHTS[k]) < 4 * np.sqrt(WEIGHTS[k] * (1 - WEIGHTS[k]) / n)
        standard_error = np.sqrt(VARIANCES[k] / len(members))
        np.testing.assert_allclose(members.mean(0), MEANS[k], atol=5 * standard_error)
        # per-coordinate variance: relative standard error √(2 / n_k)
        np.testing.assert_allclose(members.var(0), VARIANCES[k],
                                   rtol=5 * np.sqrt(2 / len(members)) + 0.03)


def test_ddpm_with_the_exact_mixture_eps_recovers_weights_means_and_variances():
    process = GaussianDiffusion.from_schedule("linear", 1000)
    samples = ddpm_sample(process, _mixture_eps(process), (4000, 2), np.random.default_rng(3))
    _check_mixture_recovered(samples)


def test_respaced_ddpm_with_the_exact_mixture_eps_recovers_the_mixture():
    process = GaussianDiffusion.from_schedule("cosine", 1000)
    samples = sample_with(process, _mixture_eps(process), (4000, 2), np.random.default_rng(4),
                          sampler="ddpm", steps=250)
    _check_mixture_recovered(samples)


def test_ddim_with_the_exact_mixture_eps_recovers_weights_means_and_variances():
    process = GaussianDiffusion.from_schedule("linear", 1000)
    samples = ddim_sample(process, _mixture_eps(process), (4000, 2), np.random.default_rng(5),
                          timesteps=evenly_spaced(100, 1000))
    _check_mixture_recovered(samples)


def test_ddpm_adds_no_noise_at_the_last_step():
    process = GaussianDiffusion.from_schedule("linear", 50)
    seen = {}

    def eps_fn(x, t):
        if t == 1:
            seen["x_1"] = x.copy()
        return _mixture_eps(process)(x, t)

    x_T = np.random.default_rng(0).standard_normal((20, 2))
    for seed, variance in ((1, "small"), (2, "large")):  # β̃_1 = 0 but β_1 > 0
        sample = ddpm_sample(process, eps_fn, x_T.shape, np.random.default_rng(seed), x_T=x_T,
                             variance=variance)
        expected, _ = process.p_mean_variance(seen["x_1"], 1, _mixture_eps(process)(
            seen["x_1"], 1))
        np.testing.assert_array_equal(sample, expected)  # x_0 = μ_θ(x_1, 1) exactly


def test_ddim_last_step_returns_x0_hat_even_with_eta_one():
    process = GaussianDiffusion.from_schedule("linear", 50)
    x_1, eps = np.random.default_rng(0).standard_normal((2, 6, 2))
    mean, variance = ddim_step(process, eps, x_1, 3, 0, eta=1.0)
    assert variance == 0.0
    np.testing.assert_allclose(mean, process.predict_x0(x_1, 3, eps), atol=1e-12)


def test_respacing_on_every_step_is_plain_ddpm():
    process = GaussianDiffusion.from_schedule("linear", 60)
    eps_fn = _mixture_eps(process)
    plain = ddpm_sample(process, eps_fn, (10, 2), np.random.default_rng(7))
    respaced = ddpm_sample(process, eps_fn, (10, 2), np.random.default_rng(7),
                           timesteps=np.arange(1, 61))
    np.testing.assert_allclose(respaced, plain, atol=1e-10)


def test_samplers_name_bad_arguments():
    process = GaussianDiffusion.from_schedule("linear", 60)
    with pytest.raises(ValueError, match="sampler must be one of"):
        sample_with(process, _mixture_eps(process), (2, 2), np.random.default_rng(0),
                    sampler="euler")
    with pytest.raises(ValueError, match="x_T has shape"):
        ddpm_sample(process, _mixture_eps(process), (2, 2), np.random.default_rng(0),
                    x_T=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="eta must be"):
        ddim_sample(process, _mixture_eps(process), (2, 2), np.random.default_rng(0), eta=-1)


def test_ddim_on_a_quadratic_subsequence_recovers_the_mixture():
    # DDIM's "quadratic" τ_i ∝ i² (Song et al., App. D.2): any increasing subsequence works
    process = GaussianDiffusion.from_schedule("cosine", 1000)
    timesteps = np.unique(np.round(np.linspace(1, np.sqrt(1000), 60) ** 2).astype(np.int64))
    samples = ddim_sample(process, _mixture_eps(process), (4000, 2), np.random.default_rng(6),
                          timesteps=timesteps)
    _check_mixture_recovered(samples)
