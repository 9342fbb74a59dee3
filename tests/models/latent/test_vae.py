"""Properties of the VAE: the ELBO's terms, the reparameterisation, the bounds, learning."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import autograd as ag
from minigen.data import get_dataset
from minigen.models.latent.vae import VAE
from minigen.optim import Adam


def tiny_vae(seed=0, likelihood="bernoulli", **kwargs):
    return VAE((1, 2, 3), rng=np.random.default_rng(seed), latent_dim=2, hidden=(5,),
               likelihood=likelihood, **kwargs)


def binary_batch(seed, num=4, shape=(1, 2, 3)):
    return (np.random.default_rng(seed).uniform(size=(num, *shape)) < 0.5).astype(np.float32)


def encoder_halves(model, x):
    """μ and log σ read directly from the encoder's raw output, (N, d) each."""
    raw = model.encoder(ag.Tensor(x.reshape(len(x), -1).astype(model.dtype))).data
    return raw[:, :model.latent_dim], raw[:, model.latent_dim:]


@given(seed=st.integers(0, 2**32 - 1))
def test_loss_is_negative_mean_elbo_for_the_same_rng(seed):
    model, x = tiny_vae(seed), binary_batch(seed)
    loss = model.loss(x, np.random.default_rng(seed)).item()
    elbo = model.elbo(x, np.random.default_rng(seed))
    assert loss == pytest.approx(-elbo.mean(), rel=1e-5, abs=1e-5)


@given(seed=st.integers(0, 2**32 - 1))
def test_kl_term_is_the_closed_form_of_the_encoder_outputs(seed):
    model, x = tiny_vae(seed), binary_batch(seed)
    _, kl = model.elbo_terms(x, np.random.default_rng(seed))
    mean, log_scale = (h.astype(np.float64) for h in encoder_halves(model, x))
    # KL(N(μ, σ²) ‖ N(0, 1)) with σ = exp(log σ)
    expected = 0.5 * (mean**2 + np.exp(2 * log_scale) - 1 - 2 * log_scale).sum(axis=1)
    np.testing.assert_allclose(kl.data, expected, rtol=1e-5, atol=1e-6)


def test_kl_term_matches_a_monte_carlo_estimate():
    model, x = tiny_vae(3), binary_batch(3, num=1)
    model.encoder[-1].bias.data[2:] = 0.7  # a spread far from 1 to make the check sharp
    _, kl = model.elbo_terms(x, np.random.default_rng(0))
    mean, log_scale = encoder_halves(model, x)
    rng = np.random.default_rng(1)
    z = mean[0] + np.exp(log_scale[0]) * rng.standard_normal((200_000, model.latent_dim))
    log_q = stats.norm(mean[0], np.exp(log_scale[0])).logpdf(z).sum(axis=1)
    log_prior = stats.norm(0.0, 1.0).logpdf(z).sum(axis=1)
    log_ratio = log_q - log_prior  # KL = E_q[log q(z) − log p(z)]
    error = log_ratio.std() / np.sqrt(len(log_ratio))
    assert abs(log_ratio.mean() - kl.data[0]) < 4 * error


def test_encoder_standard_deviation_is_exp_log_scale():
    model, x = tiny_vae(4), binary_batch(4, num=2)
    model.encoder[-1].bias.data[2:] = 1.0  # σ = e, where exp(log σ²) as σ would give e^0.5
    _, log_scale = encoder_halves(model, x)
    draws = model.posterior(x).rsample(np.random.default_rng(0), (20_000,)).data
    np.testing.assert_allclose(draws.std(axis=0), np.exp(log_scale), rtol=0.03)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_loss_gradient_matches_finite_differences(likelihood):
    model = tiny_vae(5, likelihood).astype(np.float64)
    x = binary_batch(5, num=3) if likelihood == "bernoulli" else np.random.default_rng(5).uniform(
        size=(3, 1, 2, 3))
    checked = [model.encoder[0].weight, model.encoder[-1].bias, model.decoder[-1].weight]
    if likelihood == "gaussian":
        checked.append(model.decoder_log_scale)
    # the same ε on every evaluation: a fresh generator with a fixed seed
    ag.gradcheck(lambda *params: model.loss(x, np.random.default_rng(6)), checked)


def test_gaussian_log_likelihood_matches_scipy():
    model = tiny_vae(7, "gaussian", decoder_log_scale=-0.5)
    x = np.random.default_rng(7).uniform(size=(3, 6))
    means = np.random.default_rng(8).uniform(size=(3, 6))
    flat = ag.Tensor(x.astype(np.float32))
    value = model.log_likelihood(flat, ag.Tensor(means.astype(np.float32))).data
    expected = stats.norm(means, np.exp(-0.5)).logpdf(x).sum(axis=1)
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_bernoulli_log_likelihood_is_log_of_sigmoid_probabilities():
    model = tiny_vae(9)
    x = binary_batch(9, num=3).reshape(3, 6)
    logits = np.random.default_rng(9).normal(scale=3.0, size=(3, 6))
    p = 1 / (1 + np.exp(-logits))
    expected = (x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)
    value = model.log_likelihood(ag.Tensor(x), ag.Tensor(logits.astype(np.float32))).data
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_iwae_with_one_sample_has_the_expectation_of_the_elbo_and_grows_with_k():
    model, x = tiny_vae(10), binary_batch(10, num=1)
    repeats = 3000
    tiled = np.repeat(x, repeats, axis=0)  # independent draws along the batch
    rng = np.random.default_rng(11)
    elbo, iwae_1 = model.elbo(tiled, rng), model.iwae(tiled, 1, rng)
    iwae_20 = model.iwae(tiled, 20, rng)
    standard_error = np.hypot(elbo.std(), iwae_1.std()) / np.sqrt(repeats)
    assert abs(elbo.mean() - iwae_1.mean()) < 4 * standard_error
    assert iwae_20.mean() > elbo.mean() + 4 * standard_error


def test_training_two_hundred_steps_raises_the_elbo():
    train, _ = get_dataset("digits-binary", "train")
    test, _ = get_dataset("digits-binary", "test")
    rng = np.random.default_rng(12)
    model = VAE((1, 8, 8), rng=rng, latent_dim=4, hidden=(64,))
    before = model.elbo(test, np.random.default_rng(0)).mean()
    optimizer = Adam(model.parameters(), lr=3e-3)
    for _ in range(200):
        batch = train[rng.integers(len(train), size=64)]
        optimizer.zero_grad()
        model.loss(batch, rng).backward()
        optimizer.step()
    after = model.elbo(test, np.random.default_rng(0)).mean()
    assert after > before + 15  # from ≈ −45 nats to better than ≈ −30


def test_sample_reconstruct_encode_interpolate_shapes_and_ranges():
    model = VAE((1, 4, 4), rng=np.random.default_rng(13), latent_dim=3, hidden=(8, 8))
    x = binary_batch(13, num=5, shape=(1, 4, 4))
    rng = np.random.default_rng(14)
    samples = model.sample(7, rng)
    assert samples.shape == (7, 1, 4, 4)
    assert np.all((samples > 0) & (samples < 1))  # probabilities, not draws
    reconstructions = model.reconstruct(x, rng)
    assert reconstructions.shape == x.shape
    assert np.all((reconstructions > 0) & (reconstructions < 1))
    assert model.encode(x).shape == (5, 3)
    path = model.interpolate(x[0], x[1], steps=6)
    assert path.shape == (6, 1, 4, 4)
    ends = ag.sigmoid(model.decode(model.encode(x[:2]))).data.reshape(2, 1, 4, 4)
    np.testing.assert_allclose(path[[0, -1]], ends, rtol=1e-5, atol=1e-6)


def test_gaussian_vae_samples_means_and_can_fix_the_decoder_scale():
    model = VAE((2,), rng=np.random.default_rng(15), latent_dim=1, hidden=(4,),
                likelihood="gaussian", learn_decoder_scale=False)
    assert not any(p is model.decoder_log_scale for p in model.parameters())
    assert model.sample(3, np.random.default_rng(0)).shape == (3, 2)


def test_bad_arguments_are_refused_with_the_expected_shape():
    with pytest.raises(ValueError, match="likelihood"):
        VAE((4,), rng=np.random.default_rng(0), likelihood="poisson")
    with pytest.raises(ValueError, match="expected"):
        tiny_vae().loss(np.zeros((2, 5)), np.random.default_rng(0))
