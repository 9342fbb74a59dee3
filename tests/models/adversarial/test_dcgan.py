"""DCGAN: the paper's architecture rules scaled to 8×8, player isolation, samples."""

import numpy as np
import pytest

from minigen.models.adversarial.dcgan import DCGAN
from minigen.nn import BatchNorm2d, Conv2d, ConvTranspose2d, LeakyReLU, ReLU, Tanh

from .test_gan import GAN_BETAS, _assert_identical, _digits_batch, _snapshot


def _model(**kwargs):
    return DCGAN(rng=np.random.default_rng(0), channels=4, latent_dim=8, **kwargs)


def test_networks_follow_the_dcgan_rules():
    model = _model()
    generator = [type(layer) for layer in model.generator]
    trunk = [type(layer) for layer in model.trunk]
    assert generator == [ConvTranspose2d, BatchNorm2d, ReLU, ConvTranspose2d, BatchNorm2d,
                         ReLU, ConvTranspose2d, Tanh]  # no BN on G's output layer
    assert trunk == [Conv2d, LeakyReLU, Conv2d, BatchNorm2d, LeakyReLU]  # none on D's input
    assert all(layer.negative_slope == 0.2 for layer in model.trunk if isinstance(layer,
                                                                                  LeakyReLU))
    assert [layer.stride for layer in model.trunk if isinstance(layer, Conv2d)] == [2, 2]
    # the public-code bug BatchNorm2d(c, 0.8) sets eps = 0.8; ours keep torch's 1e-5
    norms = [m for _, m in model.named_modules() if isinstance(m, BatchNorm2d)]
    assert norms and all(norm.eps == 1e-5 and norm.momentum == 0.1 for norm in norms)


def test_weights_are_drawn_from_n_0_0_02():
    model = DCGAN(rng=np.random.default_rng(0))  # default widths: enough weights to measure
    weights = np.concatenate([m.weight.data.ravel() for _, m in model.named_modules()
                              if isinstance(m, (Conv2d, ConvTranspose2d))])
    assert abs(weights.mean()) < 1e-3 and weights.std() == pytest.approx(0.02, rel=0.02)


def test_shapes_through_the_networks():
    model = _model()
    images = model.generate(model.noise(5, np.random.default_rng(0)))
    assert images.shape == (5, 1, 8, 8)
    assert model.trunk(images).shape == (5, 8, 2, 2)
    assert model.discriminator_logits(images).shape == (5,)


def test_each_player_step_moves_only_that_player():
    model = _model()
    model.build_optimizers(2e-4, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    players = model.players()
    g_before, d_before = _snapshot(players["generator"]), _snapshot(players["discriminator"])
    rng = np.random.default_rng(1)
    real = model._batch(_digits_batch(8), {})[0]
    fake = model.generate(model.noise(8, rng)).detach()
    model.step_player("discriminator", lambda: model.discriminator_loss(real, fake, rng))
    _assert_identical(players["generator"], g_before)
    z = model.noise(8, rng)
    d_before = _snapshot(players["discriminator"])
    model.step_player("generator", lambda: model.generator_loss(model.generate(z)))
    _assert_identical(players["discriminator"], d_before)
    assert not np.array_equal(players["generator"][0].data, g_before[0])


def test_samples_are_digits_shaped_in_range_and_independent_of_their_batch():
    model = _model()
    model.build_optimizers(2e-4, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    model.train_step(_digits_batch(8), np.random.default_rng(0))  # running stats move
    samples = model.sample(6, np.random.default_rng(2))
    assert samples.shape == (6, 1, 8, 8) and samples.min() >= -1 and samples.max() <= 1
    # evaluation-mode BatchNorm: the first three samples do not depend on the other three
    np.testing.assert_allclose(model.sample(3, np.random.default_rng(2)), samples[:3],
                               rtol=1e-5, atol=1e-6)
    assert model.generator.training  # sampling restored training mode


def test_dcgan_is_for_8x8_digits():
    with pytest.raises(ValueError, match=r"data_shape must be \(1, 8, 8\)"):
        DCGAN((1, 28, 28), rng=np.random.default_rng(0))
