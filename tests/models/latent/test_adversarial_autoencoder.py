"""Adversarial autoencoder: the discriminator's loss, its optimum D* = p / (p + q) (1/2 when
the codes follow the prior), which player each update moves, priors and sampling."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import log_expit

import autograd as ag
from minigen.models.base import PlayerSettings
from minigen.models.latent.adversarial_autoencoder import AdversarialAutoencoder, sample_prior
from minigen.nn.losses import gan_loss
from minigen.optim import Adam

# the AAE's game: D on prior samples ("real") against codes ("fake"), non-saturating E
discriminator_loss = gan_loss("non_saturating").discriminator
generator_loss = gan_loss("non_saturating").generator

finite_logits = st.lists(st.floats(-20, 20), min_size=1, max_size=8)


@given(finite_logits, finite_logits)
def test_discriminator_loss_is_binary_cross_entropy(logits_prior, logits_code):
    lp, lc = np.array(logits_prior), np.array(logits_code)
    # −E_p log D(z) − E_q log(1 − D(z)), with log σ(l) = log_expit(l), log(1 − σ(l)) = log_expit(−l)
    expected = -np.mean(log_expit(lp)) - np.mean(log_expit(-lc))
    value = discriminator_loss(ag.Tensor(lp), ag.Tensor(lc)).data
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert generator_loss(ag.Tensor(lc)).data == pytest.approx(-np.mean(log_expit(lc)),
                                                               rel=1e-9, abs=1e-9)


def _fixed_encoder_model(scale: float, seed: int) -> AdversarialAutoencoder:
    """2-D data, identity-like encoder z = scale·x frozen (its learning rates are 0)."""
    model = AdversarialAutoencoder((2,), rng=np.random.default_rng(seed), hidden=(),
                                   prior="gaussian", loss="mse")
    model.build_optimizers(2e-3, {"reconstruction": PlayerSettings(lr_scale=0.0),
                                  "generator": PlayerSettings(lr_scale=0.0)})
    model.to_code.weight.data = scale * np.eye(2, dtype=np.float32)
    model.to_code.bias.data[:] = 0
    return model


def _train_discriminator(model: AdversarialAutoencoder, steps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        model.train_step(rng.standard_normal((256, 2)).astype(np.float32), rng)


def test_optimal_discriminator_is_one_half_when_codes_follow_the_prior():
    model = _fixed_encoder_model(1.0, seed=0)  # x ~ N(0, I), z = x: q(z) = p(z)
    encoder_before = model.to_code.weight.data.copy()
    _train_discriminator(model, 300, seed=1)
    np.testing.assert_array_equal(model.to_code.weight.data, encoder_before)
    z = sample_prior("gaussian", 2000, 2, np.random.default_rng(2))
    d = ag.sigmoid(model.discriminator_logits(z.astype(np.float32))).data
    assert abs(d.mean() - 0.5) < 0.05
    assert np.quantile(np.abs(d - 0.5), 0.9) < 0.1


def test_discriminator_reaches_closed_form_optimum_when_codes_do_not_follow_the_prior():
    # z = 2x: q = N(0, 4I), p = N(0, I); D*(z) = p / (p + q) = 1 / (1 + q/p)
    model = _fixed_encoder_model(2.0, seed=0)
    _train_discriminator(model, 400, seed=1)
    z = sample_prior("gaussian", 2000, 2, np.random.default_rng(2))
    squared = np.sum(z**2, axis=1)
    log_q_over_p = -np.log(4.0) - squared / 8 + squared / 2  # log N(z;0,4I) − log N(z;0,I)
    optimal = 1 / (1 + np.exp(log_q_over_p))
    d = ag.sigmoid(model.discriminator_logits(z.astype(np.float32))).data
    assert np.mean(np.abs(d - optimal)) < 0.06
    assert d.mean() > 0.6  # far from 1/2: the check above can tell the two cases apart


def test_logistic_discriminator_on_quadratic_features_reaches_p_over_p_plus_q():
    # 1-D p = N(0, 1), q = N(1, 0.5²): log p/q is quadratic in z, so a logistic model on
    # (z, z²) can represent D* = p / (p + q) exactly; minimising the AAE's loss finds it.
    rng = np.random.default_rng(0)
    z_p, z_q = rng.normal(0.0, 1.0, 8000), rng.normal(1.0, 0.5, 8000)
    weights = ag.Tensor(np.zeros(3), requires_grad=True)
    optimizer = Adam([weights], lr=0.1)

    def logits(z):
        return weights[0] + weights[1] * z + weights[2] * z**2

    for _ in range(500):
        optimizer.zero_grad()
        discriminator_loss(logits(z_p), logits(z_q)).backward()
        optimizer.step()
    grid = np.linspace(-1.5, 2.0, 15)
    log_p = -0.5 * grid**2
    log_q = -np.log(0.5) - 0.5 * ((grid - 1.0) / 0.5) ** 2
    optimal = 1 / (1 + np.exp(log_q - log_p))
    fitted = ag.sigmoid(logits(grid)).data
    np.testing.assert_allclose(fitted, optimal, atol=0.03)


def _snapshot(module):
    return [p.data.copy() for p in module.parameters()]


def _changed(before, module):
    return [not np.array_equal(b, p.data) for b, p in zip(before, module.parameters())]


@pytest.mark.parametrize("player", ["reconstruction", "discriminator", "generator"])
def test_each_update_moves_its_own_player_only(player):
    scales = {name: PlayerSettings(lr_scale=0.0)
              for name in ("reconstruction", "discriminator", "generator")}
    scales[player] = PlayerSettings()
    rng = np.random.default_rng(0)
    model = AdversarialAutoencoder((1, 4, 4), rng=rng, hidden=(8,))
    model.build_optimizers(1e-2, scales)
    parts = {"encoder": [model.encoder, model.to_code], "decoder": [model.from_code,
             model.decoder], "discriminator": [model.discriminator]}
    before = {name: [_snapshot(m) for m in modules] for name, modules in parts.items()}
    values = model.train_step(rng.random((8, 1, 4, 4)).astype(np.float32), rng)
    assert set(values) == {"reconstruction", "discriminator", "generator", "d_prior", "d_code"}
    moved = {name: any(any(_changed(b, m)) for b, m in zip(before[name], modules))
             for name, modules in parts.items()}
    expected = {"reconstruction": {"encoder": True, "decoder": True, "discriminator": False},
                "discriminator": {"encoder": False, "decoder": False, "discriminator": True},
                "generator": {"encoder": True, "decoder": False, "discriminator": False}}
    assert moved == expected[player]
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("prior", ["gaussian", "mixture10", "swissroll"])
def test_priors_are_two_dimensional_draws_of_the_named_sets(prior):
    z = sample_prior(prior, 500, 2, np.random.default_rng(0))
    assert z.shape == (500, 2) and np.all(np.isfinite(z))
    radius = np.linalg.norm(z, axis=1)
    if prior == "mixture10":  # ten modes on a circle of radius 4
        assert abs(np.median(radius) - 4.0) < 0.3
    if prior == "swissroll":  # the spiral lies in [−2, 2]² (plus a little noise)
        assert radius.max() < 2.3


def test_non_gaussian_priors_need_two_latent_dimensions():
    with pytest.raises(ValueError, match="latent_dim=2"):
        AdversarialAutoencoder((1, 4, 4), rng=np.random.default_rng(0), latent_dim=3,
                               prior="swissroll")
    with pytest.raises(ValueError, match="prior"):
        AdversarialAutoencoder((1, 4, 4), rng=np.random.default_rng(0), prior="uniform")


def test_sample_decodes_prior_draws():
    model = AdversarialAutoencoder((1, 4, 4), rng=np.random.default_rng(0), hidden=(8,),
                                   prior="mixture10")
    images = model.sample(6, np.random.default_rng(5))
    z = model.sample_prior(6, np.random.default_rng(5))
    expected = ag.sigmoid(model.decode_logits(ag.Tensor(z))).data
    np.testing.assert_allclose(images, expected, rtol=1e-6)
    assert images.shape == (6, 1, 4, 4) and images.min() >= 0 and images.max() <= 1
    assert model.encode(np.zeros((3, 1, 4, 4))).shape == (3, 2)
