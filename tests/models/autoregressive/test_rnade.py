"""RNADE (Uria, Murray & Larochelle, 2013): a real-valued NADE with mixture conditionals.

Its causality, completion, gradcheck and loss = −mean log p are checked with every
autoregressive model in test_explicit_density_properties.py; here, its mixture equation,
its normalisation by integration and its training on continuous data.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.special import logsumexp

from minigen.data import get_dataset
from minigen.models.autoregressive.rnade import RNADE
from minigen.optim import Adam
from tests.models.autoregressive.helpers import loss_after_training


def random_rnade(num_dims: int, seed: int, hidden: int = 4, num_components: int = 3,
                 rescale: bool = True) -> RNADE:
    """A float64 RNADE with random parameters: log scales within about ±1.2, means within
    about ±6, so a grid of step 0.1 over [−25, 25]² resolves the density and its tails."""
    rng = np.random.default_rng(seed)
    model = RNADE((num_dims,), rng=rng, hidden=hidden,
                  num_components=num_components, rescale=rescale).astype(np.float64)
    for parameter in model.parameters():
        parameter.data = 0.5 * rng.standard_normal(parameter.shape)
    k = num_components
    model.output_weight.data[:, :, 2 * k:] *= 0.3 / hidden  # log-scale read-out
    model.output_bias.data[:, 2 * k:] *= 0.6
    model.output_bias.data[:, k:2 * k] *= 4  # means spread over about ±4
    return model


def density_on_grid(model: RNADE, low: float, high: float, step: float) -> np.ndarray:
    """p(x1, x2) at the centres of a square grid of cells of side ``step``."""
    centres = np.arange(low + step / 2, high, step)
    first, second = np.meshgrid(centres, centres, indexing="ij")
    points = np.stack([first.ravel(), second.ravel()], axis=1)
    return np.exp(model.log_prob(points)).reshape(len(centres), len(centres))


@given(st.integers(1, 5), st.booleans(), st.integers(0, 2**31))
def test_log_density_equals_an_explicit_mixture_per_dimension(num_dims, rescale, seed):
    model = random_rnade(num_dims, seed, rescale=rescale)
    x = np.random.default_rng(seed + 1).standard_normal((4, num_dims))
    W, c = model.input_weight.data, model.hidden_bias.data
    rho = model.activity_scale.data if rescale else np.ones(num_dims)
    k = model.num_components
    expected = np.zeros(len(x))
    for n in range(len(x)):
        for i in range(num_dims):
            h = 1 / (1 + np.exp(-rho[i] * (c + W[:, :i] @ x[n, :i])))
            params = h @ model.output_weight.data[i] + model.output_bias.data[i]
            log_weights = params[:k] - logsumexp(params[:k])
            log_normal = stats.norm.logpdf(x[n, i], params[k:2 * k], np.exp(params[2 * k:]))
            expected[n] += logsumexp(log_weights + log_normal)
    np.testing.assert_allclose(model.log_prob(x), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_dimensional_density_integrates_to_one(seed):
    model = random_rnade(1, seed, num_components=4)
    total, error = integrate.quad(lambda t: np.exp(model.log_prob(np.array([[t]])))[0],
                                  -np.inf, np.inf, epsabs=1e-10, limit=200)
    assert abs(total - 1) < 1e-6


@pytest.mark.parametrize("seed, rescale", [(0, True), (1, False)])
def test_two_dimensional_density_integrates_to_one(seed, rescale):
    model = random_rnade(2, seed, rescale=rescale)
    step = 0.1
    total = density_on_grid(model, -25.0, 25.0, step).sum() * step**2
    assert abs(total - 1) < 1e-6


def test_samples_match_the_density_chi_square():
    model = random_rnade(2, seed=3)
    samples = model.sample(20_000, np.random.default_rng(4))
    step, low, high = 0.1, -25.0, 25.0
    cell_mass = density_on_grid(model, low, high, step) * step**2
    edges = np.arange(-6.0, 6.01, 1.5)  # bins of a coarse grid, tails pooled at both ends
    centres = np.arange(low + step / 2, high, step)
    bin_of_centre = np.digitize(centres, edges)
    num_bins = len(edges) + 1
    expected = np.zeros((num_bins, num_bins))
    np.add.at(expected, (bin_of_centre[:, None], bin_of_centre[None, :]), cell_mass)
    counts = np.zeros((num_bins, num_bins))
    np.add.at(counts, (np.digitize(samples[:, 0], edges), np.digitize(samples[:, 1], edges)), 1)
    expected = expected.ravel() * len(samples)
    counts = counts.ravel()
    small = expected < 5
    counts = np.append(counts[~small], counts[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    assert stats.chisquare(counts, expected * counts.sum() / expected.sum()).pvalue > 1e-3


def test_training_on_dequantized_digits_lowers_the_loss():
    images, _ = get_dataset("digits-dequantized", "train")
    model = RNADE((1, 8, 8), rng=np.random.default_rng(10), hidden=10, num_components=5,
                  rescale=True)
    before, after = loss_after_training(model, images[:64], 10, 0.01)
    assert after < before - 5


def test_learns_the_ring_better_than_the_best_single_gaussian():
    train, _ = get_dataset("ring", "train")
    test, _ = get_dataset("ring", "test")
    rng = np.random.default_rng(11)
    model = RNADE((2,), rng=rng, hidden=16, num_components=8, rescale=True)
    optimizer = Adam(model.parameters(), lr=0.02)
    for _ in range(300):
        optimizer.zero_grad()
        model.loss(train[rng.integers(len(train), size=128)]).backward()
        optimizer.step()
    # The maximum-likelihood Gaussian's NLL is ½ log det(2πe Σ̂).
    gaussian_nll = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * np.cov(train.T))[1]
    assert -model.log_prob(test).mean() < gaussian_nll - 1.0


def test_rejects_bad_sizes():
    with pytest.raises(ValueError, match="num_components"):
        RNADE((2,), rng=np.random.default_rng(0), hidden=4, num_components=0)
