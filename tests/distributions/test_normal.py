"""Normal(loc, log_scale): densities against scipy, sampling, reparameterisation, dtype."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import autograd as ag
from minigen.distributions import Normal

finite = st.floats(-5, 5)
log_scales = st.floats(-3, 2)


@given(
    loc=hnp.arrays(np.float64, (2, 3), elements=finite),
    log_scale=hnp.arrays(np.float64, (3,), elements=log_scales),
    x=hnp.arrays(np.float64, (2, 3), elements=st.floats(-20, 20)),
)
def test_log_prob_equals_scipy_norm_logpdf_with_scale_exp_log_scale(loc, log_scale, x):
    ours = Normal(loc, log_scale).log_prob(x).data
    expected = stats.norm.logpdf(x, loc=loc, scale=np.exp(log_scale))
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-10)


@given(log_scale=hnp.arrays(np.float64, 4, elements=log_scales))
def test_entropy_equals_scipy(log_scale):
    ours = Normal(np.zeros(4), log_scale).entropy().data
    np.testing.assert_allclose(ours, stats.norm.entropy(scale=np.exp(log_scale)), rtol=1e-12)


def test_rsample_standard_deviation_is_exp_log_scale_not_exp_half_log_scale():
    # A VAE bug reads log_scale as a log-variance: std would be exp(log_scale / 2).
    n = 20_000
    log_scale = np.log(np.array([0.2, 3.0]))
    draws = Normal(np.array([1.0, -2.0]), log_scale).rsample(np.random.default_rng(0), (n,))
    spread = draws.data.std(axis=0)
    standard_error = np.exp(log_scale) / np.sqrt(2 * n)  # SE of a sample std, Gaussian data
    assert np.all(np.abs(spread - np.exp(log_scale)) < 5 * standard_error)
    assert np.all(np.abs(spread - np.exp(log_scale / 2)) > 50 * standard_error)


@given(seed=st.integers(0, 2**31), loc=finite, log_scale=log_scales)
def test_sample_moments_match_mean_and_stddev(seed, loc, log_scale):
    n = 4000
    dist = Normal(np.float64(loc), np.float64(log_scale))
    draws = dist.sample(np.random.default_rng(seed), n)
    sigma = float(dist.stddev.data)
    assert float(dist.mean.data) == loc
    assert abs(draws.mean() - loc) < 5 * sigma / np.sqrt(n)
    assert abs(draws.std() - sigma) < 5 * sigma / np.sqrt(2 * n)


def test_entropy_equals_monte_carlo_expected_negative_log_density():
    dist = Normal(np.array([0.3, -1.0]), np.array([0.5, -1.2]))
    draws = dist.sample(np.random.default_rng(1), 40_000)
    negative_log_density = -dist.log_prob(draws).data
    standard_error = negative_log_density.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(negative_log_density.mean(axis=0) - dist.entropy().data)
                  < 5 * standard_error)


def test_rsample_is_differentiable_and_passes_gradcheck_in_float64():
    loc = ag.Tensor(np.array([[0.1, -0.4, 2.0]]), requires_grad=True)
    log_scale = ag.Tensor(np.array([[-0.3, 0.2, 0.7]]), requires_grad=True)

    def draw(loc, log_scale):  # a fixed ε: a new generator with the same seed each call
        return Normal(loc, log_scale).rsample(np.random.default_rng(7), (4,))

    assert ag.gradcheck(draw, [loc, log_scale], order=2)


def test_rsample_gradients_are_one_for_loc_and_sigma_eps_for_log_scale():
    loc = ag.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    log_scale = ag.Tensor(np.array([0.3, -0.7]), requires_grad=True)
    draws = Normal(loc, log_scale).rsample(np.random.default_rng(3))
    eps = np.random.default_rng(3).standard_normal(2)
    draws.sum().backward()
    np.testing.assert_allclose(loc.grad, np.ones(2))
    np.testing.assert_allclose(log_scale.grad, np.exp(log_scale.data) * eps)  # ∂/∂logσ = σε


def test_log_prob_passes_gradcheck_in_all_arguments():
    rng = np.random.default_rng(4)
    loc, log_scale, x = (ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
                         for _ in range(3))
    assert ag.gradcheck(lambda a, b, c: Normal(a, b).log_prob(c), [loc, log_scale, x],
                        order=2)


def test_float32_parameters_give_float32_results():
    dist = Normal(np.zeros(3, dtype=np.float32), np.zeros(3, dtype=np.float32))
    rng = np.random.default_rng(5)
    assert dist.log_prob(np.ones(3)).dtype == np.float32
    assert dist.entropy().dtype == np.float32
    assert dist.rsample(rng).dtype == np.float32
    assert dist.sample(rng, (2,)).dtype == np.float32
    assert Normal(0.0, 0.0).log_prob(1.0).dtype == np.float32


def test_standard_normal_has_the_requested_shape_dtype_and_unit_scale():
    dist = Normal.standard((4, 2), np.float64)
    assert dist.batch_shape == (4, 2)
    assert dist.dtype == np.float64
    np.testing.assert_array_equal(dist.stddev.data, np.ones((4, 2)))
    np.testing.assert_allclose(dist.log_prob(np.zeros((4, 2))).data,
                               stats.norm.logpdf(np.zeros((4, 2))))


def test_parameters_broadcast_and_stats_have_the_batch_shape():
    dist = Normal(np.zeros((3, 1)), np.zeros(4))
    assert dist.batch_shape == (3, 4)
    assert dist.mean.shape == dist.stddev.shape == dist.entropy().shape == (3, 4)
    np.testing.assert_allclose(dist.variance.data, dist.stddev.data ** 2)
    assert dist.sample(np.random.default_rng(0), (2,)).shape == (2, 3, 4)


def test_log_prob_and_entropy_match_torch_distributions():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    loc, log_scale, x = rng.standard_normal((3, 5, 2))
    ours = Normal(loc, log_scale)
    theirs = torch.distributions.Normal(torch.tensor(loc), torch.tensor(np.exp(log_scale)))
    np.testing.assert_allclose(ours.log_prob(x).data,
                               theirs.log_prob(torch.tensor(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.entropy().data, theirs.entropy().numpy(), rtol=1e-12)


def test_bad_inputs_raise_errors_naming_the_shapes():
    with pytest.raises(ValueError, match=r"loc \(3,\), log_scale \(4,\)"):
        Normal(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"value of shape \(5,\).*batch shape \(3,\)"):
        Normal(np.zeros(3), np.zeros(3)).log_prob(np.zeros(5))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        Normal(0.0, 0.0).sample(np.random)
    with pytest.raises(TypeError, match="loc must be a Tensor, array or number"):
        Normal("zero", 0.0)
