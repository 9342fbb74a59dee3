"""β-VAE: β = 1 is the VAE exactly, the loss is −E_q log p(x|z) + β KL, β never touches the
decoder's gradient, the reported bounds stay the VAE's, and a larger β buys a smaller KL."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.data import get_dataset
from minigen.models.latent.beta_vae import BetaVAE
from minigen.models.latent.vae import VAE
from minigen.optim import Adam

SHAPE = (1, 2, 3)
seeds = st.integers(0, 2**31)


def _pair(seed, beta, **kwargs):
    """A β-VAE and a VAE built from the same seed (so with the same weights)."""
    hparams = {"latent_dim": 2, "hidden": (5,), **kwargs}
    return (BetaVAE(SHAPE, rng=np.random.default_rng(seed), beta=beta, **hparams),
            VAE(SHAPE, rng=np.random.default_rng(seed), **hparams))


def _batch(seed, n=4):
    return (np.random.default_rng(seed).random((n, *SHAPE)) < 0.5).astype(np.float32)


@given(seeds, st.sampled_from(["bernoulli", "gaussian"]))
def test_beta_one_is_the_vae_exactly(seed, likelihood):
    beta_vae, vae = _pair(seed, 1.0, likelihood=likelihood)
    states = beta_vae.state_dict(), vae.state_dict()
    assert states[0].keys() == states[1].keys()
    assert all(np.array_equal(states[0][k], states[1][k]) for k in states[0])
    x = _batch(seed)
    loss_beta = beta_vae.loss(x, np.random.default_rng(seed))
    loss_vae = vae.loss(x, np.random.default_rng(seed))
    assert loss_beta.item() == loss_vae.item()
    loss_beta.backward()
    loss_vae.backward()
    for p, q in zip(beta_vae.parameters(), vae.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


@given(seeds, st.floats(0.0, 10.0))
def test_loss_is_minus_reconstruction_plus_beta_kl(seed, beta):
    model, _ = _pair(seed, beta)
    x = _batch(seed)
    reconstruction, kl = model.elbo_terms(x, np.random.default_rng(seed))
    expected = np.mean(-reconstruction.data.astype(np.float64) + beta * kl.data)
    assert model.loss(x, np.random.default_rng(seed)).item() == pytest.approx(expected,
                                                                               rel=1e-5, abs=1e-5)


@given(seeds)
def test_beta_changes_the_encoder_gradient_but_not_the_decoders(seed):
    small, _ = _pair(seed, 0.5)
    large, _ = _pair(seed, 4.0)
    x = _batch(seed)
    small.loss(x, np.random.default_rng(seed)).backward()
    large.loss(x, np.random.default_rng(seed)).backward()
    # the KL term depends on the encoder only
    for p, q in zip(small.decoder.parameters(), large.decoder.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-5, atol=1e-6)
    # the encoder's output layer feeds μ and log σ, which the KL pulls on directly
    assert not np.allclose(small.encoder[-1].bias.grad, large.encoder[-1].bias.grad)


@given(seeds)
def test_elbo_and_iwae_are_the_vaes_bounds_whatever_beta(seed):
    model, vae = _pair(seed, 4.0)
    x = _batch(seed)
    np.testing.assert_array_equal(model.elbo(x, np.random.default_rng(seed)),
                                  vae.elbo(x, np.random.default_rng(seed)))
    np.testing.assert_array_equal(model.iwae(x, 5, np.random.default_rng(seed)),
                                  vae.iwae(x, 5, np.random.default_rng(seed)))


def test_metrics_split_the_elbo_into_its_two_terms():
    model, _ = _pair(3, 4.0)
    x = _batch(3, n=6)
    figures = model.metrics(x, np.random.default_rng(0))
    elbo = model.elbo(x, np.random.default_rng(0)).mean()
    assert figures["log_likelihood"] - figures["kl"] == pytest.approx(elbo, rel=1e-5)
    assert figures["kl"] >= 0


def test_larger_beta_gives_a_smaller_kl_after_training():
    x, _ = get_dataset("digits-binary", "train")
    x = x[:512]
    kls = {}
    for beta in (1.0, 8.0):
        model = BetaVAE(x.shape[1:], rng=np.random.default_rng(0), beta=beta, latent_dim=8,
                        hidden=(64,))
        optimizer, rng = Adam(model.parameters(), lr=3e-3), np.random.default_rng(1)
        for step in range(150):
            batch = x[(step * 64) % 512:][:64]
            optimizer.zero_grad()
            model.loss(batch, rng).backward()
            optimizer.step()
        kls[beta] = model.metrics(x, np.random.default_rng(2))["kl"]
    assert kls[8.0] < 0.5 * kls[1.0]


def test_negative_beta_is_refused():
    with pytest.raises(ValueError, match="beta"):
        BetaVAE(SHAPE, rng=np.random.default_rng(0), beta=-1.0)
