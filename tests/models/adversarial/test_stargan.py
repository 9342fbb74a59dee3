"""StarGAN: label routing (reals with their own labels, fakes with their targets, the cycle
back with the original labels), the gradient penalty against finite differences, n_critic,
player isolation, and the translation interface."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor
from minigen.models.adversarial.stargan import StarGAN
from minigen.models.registry import get_spec
from minigen.nn.losses import gradient_penalty
from minigen.train import load_fields

from .test_gan import GAN_BETAS, _assert_all_moved, _assert_identical, _snapshot


def _model(**kwargs):
    return StarGAN(rng=np.random.default_rng(0), channels=4, residual_blocks=1, **kwargs)


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (n, 1, 8, 8)).astype(np.float32)
    return Tensor(images), np.arange(n) % 4


def _spy(model, name, calls):
    """Record every call of ``model.<name>`` (its arguments' arrays), then call through."""
    original = getattr(model, name)

    def spy(*args):
        calls.append([np.array(a.data if isinstance(a, Tensor) else a) for a in args])
        return original(*args)

    setattr(model, name, spy)  # an instance attribute shadows the method


def test_discriminator_classifies_the_real_images_with_their_own_labels():
    model = _model()
    real, domain = _batch()
    fake = model.translate(real, (domain + 1) % 4).detach()
    calls = []
    _spy(model, "domain_cross_entropy", calls)
    model.discriminator_loss(real, domain, fake, np.random.default_rng(0))
    assert len(calls) == 1  # one classification term, and it is on the reals
    logits, labels = calls[0]
    np.testing.assert_array_equal(labels, domain)
    np.testing.assert_array_equal(logits, model.discriminate(real)[1].data)


def test_the_discriminators_class_head_never_learns_from_fakes():
    # gradient check: the domain head's gradient of L_D is the same for any fakes
    model = _model()
    real, domain = _batch()
    gradients = []
    for seed in (1, 2):
        fake = Tensor(np.random.default_rng(seed).uniform(-1, 1, (8, 1, 8, 8)).astype(np.float32))
        model.zero_grad()
        model.discriminator_loss(real, domain, fake, np.random.default_rng(0)).backward()
        gradients.append([p.grad.copy() for p in model.domain_head.parameters()])
    for first, second in zip(*gradients):
        np.testing.assert_array_equal(first, second)
        assert np.any(first != 0)


def test_generator_classifies_fakes_with_their_targets_and_cycles_back_with_the_originals():
    model = _model()
    real, domain = _batch()
    target = np.array([1, 2, 3, 0, 3, 3, 1, 2])
    classified, translated = [], []
    _spy(model, "domain_cross_entropy", classified)
    _spy(model, "translate", translated)
    model.generator_loss(real, domain, target)
    # G(x, c) then G(G(x, c), c'): the cycle starts from the fake, with the original labels
    (first_images, first_domains), (second_images, second_domains) = translated
    np.testing.assert_array_equal(first_images, real.data)
    np.testing.assert_array_equal(first_domains, target)
    fake = model.translate(real, target).data
    np.testing.assert_array_equal(second_images, fake)
    np.testing.assert_array_equal(second_domains, domain)
    (logits, labels), = classified  # L_cls^f: the fakes' logits against the targets
    np.testing.assert_array_equal(labels, target)
    np.testing.assert_array_equal(logits, model.discriminate(fake)[1].data)


def test_reconstruction_term_is_the_mean_absolute_error_of_the_cycle():
    model = _model()
    real, domain = _batch()
    target = (domain + 2) % 4
    _, reconstruction = model.generator_loss(real, domain, target)
    cycle = model.translate(model.translate(real, target), domain).data
    assert reconstruction.data == pytest.approx(np.abs(cycle - real.data).mean(), rel=1e-6)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_gradient_penalty_matches_finite_differences_of_the_critic(seed):
    model = _model().astype(np.float64)
    rng = np.random.default_rng(seed)
    real, fake = rng.uniform(-1, 1, (2, 5, 1, 8, 8))
    penalty = gradient_penalty(model.critic, real, fake, np.random.default_rng(seed + 1))
    epsilon = np.random.default_rng(seed + 1).random((5, 1, 1, 1))  # the same ε draws
    mixed = epsilon * real + (1 - epsilon) * fake
    gradient, step = np.zeros((5, 64)), 1e-6
    for pixel in range(64):  # the critic is per example: perturb one pixel of all at once
        shift = np.zeros((1, 64))
        shift[0, pixel] = step
        shift = shift.reshape(1, 1, 8, 8)
        gradient[:, pixel] = (model.critic(mixed + shift).data
                              - model.critic(mixed - shift).data) / (2 * step)
    expected = np.mean((np.linalg.norm(gradient, axis=1) - 1) ** 2)
    assert penalty.data == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_discriminator_loss_adds_lambda_gp_times_the_penalty():
    model = _model()
    real, domain = _batch()
    fake = model.translate(real, (domain + 1) % 4).detach()
    with_penalty = model.discriminator_loss(real, domain, fake, np.random.default_rng(3)).data
    penalty = gradient_penalty(model.critic, real, fake, np.random.default_rng(3)).data
    model.gradient_penalty_weight = 0.0
    without = model.discriminator_loss(real, domain, fake, np.random.default_rng(3)).data
    assert with_penalty - without == pytest.approx(10 * penalty, rel=1e-4, abs=1e-5)


def test_train_step_takes_five_discriminator_steps_per_generator_step():
    model = _model()
    spec = get_spec("stargan")
    assert spec.players["discriminator"].steps == 5 and spec.players["generator"].steps == 1
    optimizers = model.build_optimizers(1e-3, spec.players)
    real, domain = _batch()
    figures = model.train_step(real.data, np.random.default_rng(0), domain=domain)
    assert set(figures) == {"discriminator", "generator", "reconstruction"}
    steps = {name: int(opt.state[0]["step"]) for name, opt in optimizers.items()}
    assert steps == {"discriminator": 5, "generator": 1}


def test_each_player_step_moves_only_that_player():
    model = _model()
    model.build_optimizers(1e-3, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    generator, discriminator = model.players()["generator"], model.players()["discriminator"]
    real, domain = _batch()
    fake = model.translate(real, (domain + 1) % 4).detach()
    g_before, d_before = _snapshot(generator), _snapshot(discriminator)
    model.step_player("discriminator", lambda: model.discriminator_loss(
        real, domain, fake, np.random.default_rng(0)))
    _assert_identical(generator, g_before)  # bit-identical G after a D step
    _assert_all_moved(discriminator, d_before)
    g_before, d_before = _snapshot(generator), _snapshot(discriminator)
    model.step_player("generator", lambda: model.generator_loss(real, domain, (domain + 1) % 4)[0])
    _assert_identical(discriminator, d_before)  # bit-identical D after a G step
    _assert_all_moved(generator, g_before)


def test_the_target_is_tiled_as_one_hot_channels_of_gs_input():
    model = _model()
    real, _ = _batch(4)
    seen = []
    first = model.stem[0]
    model.stem[0].forward = lambda x: (seen.append(x.data.copy()), type(first).forward(
        first, x))[1]
    model.translate(real, np.array([0, 3, 1, 2]))
    inputs, = seen
    assert inputs.shape == (4, 5, 8, 8)
    np.testing.assert_array_equal(inputs[:, 0], real.data[:, 0])
    np.testing.assert_array_equal(inputs[:, 1:].mean(axis=(2, 3)), np.eye(4)[[0, 3, 1, 2]])
    assert np.all(inputs[:, 1:] == inputs[:, 1:, :1, :1])  # constant over the image


def test_targets_are_the_batchs_labels_shuffled():
    model = _model()
    domain = np.array([0, 0, 1, 2, 3, 3, 3])
    target = model.draw_targets(domain, np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(target), np.sort(domain))


def test_sampling_translates_test_digits_to_the_original_domain_by_new_routes():
    model = _model()
    fields = load_fields("digits-domains", "test")
    given, labels = model.sampling_conditions(700, fields, np.random.default_rng(0))
    assert given["source"].shape == (700, 1, 8, 8) and np.all(given["target"] == 0)
    np.testing.assert_array_equal(labels, fields["y"][np.arange(700) % 300])
    np.testing.assert_array_equal(given["source"][:300], fields["x"])  # straight
    for via, block in ((1, slice(300, 600)), (2, slice(600, 700))):  # via bold, via thin
        count = block.stop - block.start
        np.testing.assert_array_equal(given["source"][block], model.sample(
            count, np.random.default_rng(0), source=fields["x"][:count],
            target=np.full(count, via)))
    samples = model.sample(700, np.random.default_rng(0), **given)
    assert samples.shape == (700, 1, 8, 8) and np.abs(samples).max() <= 1
    assert len(np.unique(samples.reshape(700, -1), axis=0)) == 700  # no sample repeats
    title, rows_shown = model.figure_rows(fields, np.random.default_rng(0))
    assert list(rows_shown) == ["input", "→ original", "→ bold", "→ thin", "→ rotated"]
    assert all(images.shape == (8, 1, 8, 8) for images in rows_shown.values())


def test_bad_arguments_are_named():
    model = _model()
    real, domain = _batch(4)
    with pytest.raises(ValueError, match="n must be a positive int"):
        model.sample(0, np.random.default_rng(0), source=real.data, target=domain)
    with pytest.raises(ValueError, match="pass source="):
        model.sample(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"domain ids must be 4 integers in \[0, 4\)"):
        model.sample(4, np.random.default_rng(0), source=real.data, target=domain + 1)
    with pytest.raises(ValueError, match="0 = original, 1 = bold"):
        model.loss(real.data, np.random.default_rng(0))
    with pytest.raises(TypeError, match="unknown conditions"):
        model.loss(real.data, np.random.default_rng(0), domain=domain, y=domain)
    with pytest.raises(ValueError, match="data_shape"):
        StarGAN((1, 16, 16), rng=np.random.default_rng(0))


def test_a_trained_state_reloads_to_the_same_translations():
    model = _model()
    model.build_optimizers(1e-3, get_spec("stargan").players)
    real, domain = _batch()
    model.train_step(real.data, np.random.default_rng(0), domain=domain)
    again = _model()
    again.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(
        again.sample(8, np.random.default_rng(0), source=real.data, target=domain),
        model.sample(8, np.random.default_rng(1), source=real.data, target=domain))
