"""pix2pix: the L1 term's gradient is λ·sign(G(s) − y)/N and vanishes at λ = 0; D judges
(source, image) pairs with a halved cross-entropy; player isolation; sampling; the run."""

from pathlib import Path

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from minigen.checkpoint import load_model
from minigen.data import get_fields
from minigen.models.adversarial.pix2pix import Pix2Pix
from minigen.models.registry import get_spec
from minigen.nn.losses import bce_with_logits, gan_loss
from minigen.train import train

from .test_gan import GAN_BETAS, _assert_identical, _snapshot


def _model(**kwargs):
    return Pix2Pix(rng=np.random.default_rng(0), channels=4, discriminator_channels=4, **kwargs)


def _pairs(n=6, seed=0):
    rng = np.random.default_rng(seed)
    target = rng.uniform(-1, 1, (n, 1, 8, 8)).astype(np.float32)
    source = rng.uniform(-1, 1, (n, 1, 8, 8)).astype(np.float32)
    return Tensor(source), Tensor(target)


def _gradient_on_fake(model, source, target, fake_values, loss=None):
    """∂loss/∂G(s) with D frozen (only the fake image is differentiated)."""
    fake = Tensor(fake_values, requires_grad=True)
    value = (loss or model.generator_loss)(source, target, fake)
    gradient, = ag.grad(value, [fake])
    return gradient.data


def test_l1_term_gradient_is_lambda_sign_over_n():
    model = _model(l1_weight=100.0)
    source, target = _pairs()
    fake = np.random.default_rng(1).uniform(-1, 1, target.shape).astype(np.float32)
    total = _gradient_on_fake(model, source, target, fake)
    game = gan_loss("non_saturating")
    adversarial = _gradient_on_fake(  # the cGAN term alone, written out here
        model, source, target, fake,
        lambda s, y, f: game.generator(model.discriminator(ag.concat([s, f], axis=1))))
    expected = 100.0 * np.sign(fake - target.data) / fake.size  # λ·sign(G(s) − y)/N
    np.testing.assert_allclose(total - adversarial, expected, rtol=1e-4, atol=1e-7)


def test_with_lambda_zero_the_generator_gradient_ignores_the_target():
    model = _model(l1_weight=0.0)
    source, target = _pairs()
    fake = np.random.default_rng(1).uniform(-1, 1, target.shape).astype(np.float32)
    other_target = Tensor(-target.data)
    first = _gradient_on_fake(model, source, target, fake)
    np.testing.assert_array_equal(first, _gradient_on_fake(model, source, other_target, fake))
    assert np.abs(first).max() > 0  # the adversarial gradient is still there


def test_discriminator_judges_source_image_pairs_with_a_halved_cross_entropy():
    model = _model()
    source, target = _pairs()
    assert model.discriminator.body[0].in_channels == 2  # concat(source, image)
    other_source = Tensor(_pairs(seed=5)[0].data)
    assert not np.allclose(model.discriminator_logits(source, target).data,
                           model.discriminator_logits(other_source, target).data)
    fake = Tensor(np.zeros(target.shape, np.float32))
    expected = 0.5 * (bce_with_logits(model.discriminator_logits(source, target), 1.0)
                      + bce_with_logits(model.discriminator_logits(source, fake), 0.0))
    np.testing.assert_allclose(model.discriminator_loss(source, target, fake).data,
                               expected.data, rtol=1e-6)
    assert model.discriminator_logits(source, target).shape == (6, 1, 4, 4)  # patch grid


def test_each_player_step_moves_only_that_player():
    model = _model()
    model.build_optimizers(2e-4, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    generator, discriminator = model.players()["generator"], model.players()["discriminator"]
    source, target = _pairs()
    rng = np.random.default_rng(1)
    fake = model.generate(source, rng)

    g_before, d_before = _snapshot(generator), _snapshot(discriminator)
    model.step_player("discriminator", lambda: model.discriminator_loss(source, target, fake))
    _assert_identical(generator, g_before)
    assert not np.array_equal(discriminator[0].data, d_before[0])

    g_before, d_before = _snapshot(generator), _snapshot(discriminator)
    model.step_player("generator", lambda: model.generator_loss(source, target, fake))
    _assert_identical(discriminator, d_before)
    assert not np.array_equal(generator[0].data, g_before[0])


def test_train_step_steps_each_player_once_and_reports_the_l1():
    model = _model()
    optimizers = model.build_optimizers(2e-4)
    source, target = _pairs()
    figures = model.train_step(target.data, np.random.default_rng(0), source=source.data)
    assert set(figures) == {"discriminator", "generator", "l1", "d_fake"}
    assert {name: int(opt.state[0]["step"]) for name, opt in optimizers.items()} == {
        "discriminator": 1, "generator": 1}
    assert all(p.grad is None for p in model.parameters())


def test_sample_draws_dropout_noise_and_translate_does_not():
    model = _model()
    source, _ = _pairs()
    first = model.sample(6, np.random.default_rng(0), source=source.data)
    assert first.shape == (6, 1, 8, 8) and np.abs(first).max() <= 1
    assert not np.array_equal(first, model.sample(6, np.random.default_rng(1),
                                                  source=source.data))
    np.testing.assert_array_equal(model.translate(source.data), model.translate(source.data))
    assert model.generator.training  # sampling left the mode as it was


@pytest.mark.parametrize("n, source, match", [
    (0, np.zeros((0, 1, 8, 8)), "positive int"), (2.5, np.zeros((2, 1, 8, 8)), "positive int"),
    (3, np.zeros((2, 1, 8, 8)), "one image per sample"), (2, None, "pass source="),
    (2, np.zeros((2, 64)), r"source has shape \(2, 64\)"),
    (2, np.full((2, 1, 8, 8), 3.0), r"source must lie in \[-1, 1\]")])
def test_sample_refuses_bad_counts_and_sources(n, source, match):
    with pytest.raises((ValueError, TypeError), match=match):  # a float n: TypeError
        _model().sample(n, np.random.default_rng(0), source=source)


def test_sampling_conditions_are_test_sources_with_their_classes():
    fields = get_fields("digits-pix2pix", "test")
    given, labels = _model().sampling_conditions(len(fields["x"]) + 2, fields,
                                                 np.random.default_rng(0))
    np.testing.assert_array_equal(given["source"][:-2], fields["source"])
    np.testing.assert_array_equal(given["source"][-2:], fields["source"][:2])  # repeated
    np.testing.assert_array_equal(labels[-2:], fields["y"][:2])
    title, rows = _model().figure_rows(fields, np.random.default_rng(0))
    assert list(rows)[0].startswith("input") and list(rows)[-1] == "target"
    assert all(images.shape == (10, 1, 8, 8) for images in rows.values())


def test_registered_pix2pix_trains_one_epoch_and_reloads(tmp_path: Path):
    spec = get_spec("pix2pix")
    result = train(spec, epochs=1, seed=0, progress=False, out_dir=tmp_path / "run",
                   overrides={"channels": 8, "discriminator_channels": 8})
    assert spec.data == "digits-pix2pix" and 0 < result.metrics["loss"] < 2
    loaded, _, _ = load_model(tmp_path / "run")
    source = get_fields("digits-pix2pix", "test")["source"][:4]
    np.testing.assert_allclose(loaded.translate(source), result.model.translate(source),
                               rtol=1e-6, atol=1e-6)
