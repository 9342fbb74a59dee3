"""Mixtures of normals: normalisation, the defining sum, samples, gradients, torch parity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate, special, stats

import autograd as ag
from minigen.distributions import MixtureOfDiagonalNormals, MixtureOfNormals, Normal

K = 3
component_params = hnp.arrays(np.float64, K, elements=st.floats(-2, 2))


def _scipy_mixture_density(x, logits, loc, log_scale):
    weights = special.softmax(logits)
    return sum(w * stats.norm.pdf(x, m, np.exp(s)) for w, m, s in zip(weights, loc, log_scale))


@given(logits=component_params, loc=component_params, log_scale=component_params,
       x=hnp.arrays(np.float64, 5, elements=st.floats(-6, 6)))
def test_log_prob_equals_log_of_weighted_sum_of_scipy_densities(logits, loc, log_scale, x):
    got = MixtureOfNormals(logits, loc, log_scale).log_prob(x).data
    expected = np.log(_scipy_mixture_density(x, logits, loc, log_scale))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scalar_mixture_density_integrates_to_one(seed):
    rng = np.random.default_rng(seed)
    dist = MixtureOfNormals(rng.standard_normal(K), 2 * rng.standard_normal(K),
                            0.5 * rng.standard_normal(K))
    total, _ = integrate.quad(lambda x: float(np.exp(dist.log_prob(x).data)), -np.inf, np.inf,
                              points=None, limit=200)
    assert total == pytest.approx(1.0, abs=1e-7)


def test_diagonal_mixture_density_sums_to_one_on_a_fine_grid():
    rng = np.random.default_rng(3)
    dist = MixtureOfDiagonalNormals(rng.standard_normal(K), rng.standard_normal((K, 2)),
                                    -0.5 + 0.3 * rng.standard_normal((K, 2)))
    axis = np.linspace(-12, 12, 481)  # ≥ 6σ beyond every component mean
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1)  # (481, 481, 2)
    density = np.exp(dist.log_prob(grid).data)
    total = integrate.trapezoid(integrate.trapezoid(density, axis, axis=1), axis)
    assert total == pytest.approx(1.0, abs=1e-6)


@given(logits=component_params,
       loc=hnp.arrays(np.float64, (K, 2), elements=st.floats(-2, 2)),
       log_scale=hnp.arrays(np.float64, (K, 2), elements=st.floats(-1, 1)),
       x=hnp.arrays(np.float64, (4, 2), elements=st.floats(-5, 5)))
def test_diagonal_log_prob_equals_weighted_sum_of_scipy_multivariate_normals(
    logits, loc, log_scale, x
):
    weights = special.softmax(logits)
    expected = np.log(sum(
        w * stats.multivariate_normal.pdf(x, m, np.diag(np.exp(2 * s)))
        for w, m, s in zip(weights, loc, log_scale)))
    got = MixtureOfDiagonalNormals(logits, loc, log_scale).log_prob(x).data
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_one_component_mixture_is_that_normal():
    x = np.linspace(-3, 3, 7)
    mixture = MixtureOfNormals(np.zeros((7, 1)), np.full((7, 1), 0.5), np.full((7, 1), -0.2))
    np.testing.assert_allclose(mixture.log_prob(x).data,
                               Normal(0.5, np.float64(-0.2)).log_prob(x).data)


def test_log_prob_is_finite_far_in_the_tails():
    # exp of each component's log density underflows to 0 here; logsumexp does not.
    dist = MixtureOfNormals(np.zeros(2), np.array([0.0, 1.0]), np.array([-2.0, -2.0]))
    got = dist.log_prob(np.array([1e3])).data
    expected = np.log(0.5) + stats.norm.logpdf(1e3, 1.0, np.exp(-2.0))
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_sample_moments_match_mean_and_variance(seed):
    rng = np.random.default_rng(seed)
    dist = MixtureOfNormals(rng.standard_normal((2, K)), 2 * rng.standard_normal((2, K)),
                            0.3 * rng.standard_normal((2, K)))
    n = 20_000
    draws = dist.sample(rng, n)
    assert draws.shape == (n, 2)
    variance = dist.variance.data
    assert np.all(np.abs(draws.mean(axis=0) - dist.mean.data) < 5 * np.sqrt(variance / n))
    # SE of a sample variance ≈ √((m4 − σ⁴)/n); bound m4 loosely by the sample's own.
    m4 = ((draws - draws.mean(axis=0)) ** 4).mean(axis=0)
    assert np.all(np.abs(draws.var(axis=0) - variance) < 5 * np.sqrt((m4 - variance**2) / n))


def test_diagonal_samples_have_the_mixture_mean_and_shape():
    rng = np.random.default_rng(4)
    dist = MixtureOfDiagonalNormals(rng.standard_normal(K), 2 * rng.standard_normal((K, 2)),
                                    -1 + 0.3 * rng.standard_normal((K, 2)))
    n = 20_000
    draws = dist.sample(rng, n)
    assert draws.shape == (n, 2) and dist.mean.shape == (2,)
    standard_error = draws.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(draws.mean(axis=0) - dist.mean.data) < 5 * standard_error)


def test_log_prob_passes_gradcheck_in_every_parameter():
    rng = np.random.default_rng(5)
    logits, loc, log_scale = (ag.Tensor(rng.standard_normal((2, K)), requires_grad=True)
                              for _ in range(3))
    x = ag.Tensor(rng.standard_normal(2), requires_grad=True)
    assert ag.gradcheck(lambda a, b, c, y: MixtureOfNormals(a, b, c).log_prob(y),
                        [logits, loc, log_scale, x], order=2)
    loc_d, log_scale_d = (ag.Tensor(rng.standard_normal((K, 2)), requires_grad=True)
                          for _ in range(2))
    x_d = rng.standard_normal((3, 2))
    assert ag.gradcheck(lambda a, b, c: MixtureOfDiagonalNormals(a, b, c).log_prob(x_d),
                        [ag.Tensor(rng.standard_normal(K), requires_grad=True), loc_d,
                         log_scale_d])


def test_log_prob_matches_torch_mixture_same_family():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    rng = np.random.default_rng(6)
    logits, loc, log_scale = rng.standard_normal((3, 4, K))
    x = rng.standard_normal(4)
    theirs = td.MixtureSameFamily(td.Categorical(logits=torch.tensor(logits)),
                                  td.Normal(torch.tensor(loc), torch.tensor(np.exp(log_scale))))
    np.testing.assert_allclose(MixtureOfNormals(logits, loc, log_scale).log_prob(x).data,
                               theirs.log_prob(torch.tensor(x)).numpy(), rtol=1e-10)
    loc_d, log_scale_d = rng.standard_normal((2, 4, K, 2))
    x_d = rng.standard_normal((4, 2))
    components = td.Independent(td.Normal(torch.tensor(loc_d),
                                          torch.tensor(np.exp(log_scale_d))), 1)
    theirs = td.MixtureSameFamily(td.Categorical(logits=torch.tensor(logits)), components)
    ours = MixtureOfDiagonalNormals(logits, loc_d, log_scale_d).log_prob(x_d).data
    np.testing.assert_allclose(ours, theirs.log_prob(torch.tensor(x_d)).numpy(), rtol=1e-10)


def test_shared_logits_broadcast_over_a_batch_of_components_and_float32_is_kept():
    rng = np.random.default_rng(7)
    logits = rng.standard_normal(K).astype(np.float32)
    loc = rng.standard_normal((5, K)).astype(np.float32)
    dist = MixtureOfNormals(logits, loc, np.zeros((5, K), dtype=np.float32))
    assert dist.batch_shape == (5,)
    assert dist.log_prob(np.zeros(5)).dtype == np.float32
    assert dist.sample(rng, 2).shape == (2, 5) and dist.sample(rng).dtype == np.float32
    diagonal = MixtureOfDiagonalNormals(logits, np.zeros((5, K, 2), np.float32),
                                        np.zeros((K, 2), np.float32))
    assert diagonal.batch_shape == (5,) and diagonal.sample(rng, 3).shape == (3, 5, 2)
    assert diagonal.log_prob(np.zeros((5, 2))).dtype == np.float32


def test_mismatched_shapes_raise_errors_naming_them():
    with pytest.raises(ValueError, match=r"logits \(3,\), loc \(4,\), log_scale \(4,\)"):
        MixtureOfNormals(np.zeros(3), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="K=1 components"):
        MixtureOfNormals(np.zeros(1), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="K=3 components"):
        MixtureOfDiagonalNormals(np.zeros(3), np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"value must have shape \(\.\.\., 4\)"):
        MixtureOfDiagonalNormals(np.zeros(3), np.zeros((3, 4)), np.zeros((3, 4))).log_prob(
            np.zeros(3))
    with pytest.raises(ValueError, match="do not broadcast"):
        MixtureOfNormals(np.zeros((2, 3)), np.zeros((5, 3)), np.zeros(3))
