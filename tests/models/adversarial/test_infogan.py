"""InfoGAN: the information bound L_I = E log Q(c|G(z,c)) + H(c) on logits, its bounds, which
parameters it reaches, and Q's reading of the code."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import log_softmax

from autograd import Tensor
from minigen.models.adversarial.infogan import InfoGAN
from minigen.nn.losses import gan_loss
from minigen.optim import Adam

from .test_gan import GAN_BETAS, _assert_identical, _digits_batch, _snapshot


def _model(**kwargs):
    return InfoGAN(rng=np.random.default_rng(0), channels=4, latent_dim=8, **kwargs)


def _features(model, n, rng):
    categories, continuous = model.draw_codes(n, rng)
    fake = model.generate(model.generator_input(model.noise(n, rng), categories, continuous))
    return model.trunk(fake), categories, continuous


@given(st.integers(0, 2**31 - 1), st.floats(0.01, 30))
def test_categorical_information_is_at_most_log_10_in_every_batch(seed, scale):
    model = _model()
    rng = np.random.default_rng(seed)
    model.q_head[-1].weight.data *= scale  # from near-uniform to very confident Q
    features, categories, continuous = _features(model, 8, rng)
    categorical, _ = model.information(features, categories, continuous)
    assert categorical.data <= np.log(10) + 1e-6  # log Q ≤ 0, so L_I ≤ H(c₁)


def test_categorical_information_is_the_log_softmax_of_q_logits_plus_log_10():
    model = _model()
    features, categories, continuous = _features(model, 6, np.random.default_rng(0))
    logits = model.q_head(features).data[:, :10]
    expected = log_softmax(logits, axis=1)[np.arange(6), categories].mean() + np.log(10)
    categorical, continuous_part = model.information(features, categories, continuous)
    assert categorical.data == pytest.approx(expected, rel=1e-5, abs=1e-6)
    means = model.q_head(features).data[:, 10:]
    log_normal = -0.5 * (continuous - means) ** 2 - 0.5 * np.log(2 * np.pi)
    assert continuous_part.data == pytest.approx(log_normal.sum(1).mean() + 2 * np.log(2),
                                                 rel=1e-5, abs=1e-6)


@given(st.lists(st.floats(-5, 5), min_size=10, max_size=10))
def test_a_q_that_ignores_the_image_never_beats_zero(logits):
    # E_c[log Q(c)] + log 10 = −KL(uniform ‖ Q) ≤ 0, = 0 only for the uniform Q: so
    # max_Q L_I ≥ 0 needs a Q that reads the image (and the prior Q reaches exactly 0).
    expected_information = log_softmax(np.array(logits)).mean() + np.log(10)
    assert expected_information <= 1e-12
    assert log_softmax(np.zeros(10)).mean() + np.log(10) == pytest.approx(0, abs=1e-12)


def test_information_term_reaches_g_q_and_trunk_but_never_the_adversarial_head():
    model = _model()
    model.zero_grad()
    model.information_loss(8, np.random.default_rng(0)).backward()
    for module in (model.generator, model.trunk, model.q_head):
        assert any(p.grad is not None and np.any(p.grad != 0) for p in module.parameters())
    assert all(p.grad is None for p in model.head.parameters())


def test_information_step_changes_g_q_and_trunk_and_leaves_the_head_bit_identical():
    model = _model()
    head, moved = model.head.parameters(), (model.generator, model.trunk, model.q_head)
    head_before = _snapshot(head)
    moved_before = [_snapshot(m.parameters()) for m in moved]
    parameters = [p for m in moved for p in m.parameters()] + head
    optimizer = Adam(parameters, lr=1e-2)  # one optimiser over everything, head included
    model.zero_grad()
    model.information_loss(8, np.random.default_rng(0)).backward()
    optimizer.step()
    _assert_identical(head, head_before)
    for module, before in zip(moved, moved_before):
        assert any(not np.array_equal(p.data, b) for p, b in zip(module.parameters(), before))


def test_each_player_step_moves_only_that_player():
    model = _model()
    model.build_optimizers(2e-4, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    players = model.players()
    assert set(players) == {"generator", "discriminator"}  # Q is folded into D's player
    g_before = _snapshot(players["generator"])
    rng = np.random.default_rng(1)
    real = model._batch(_digits_batch(8), {})[0]
    fake = model.generate(model.generator_input(model.noise(8, rng), *model.draw_codes(8, rng)))
    fake = fake.detach()
    model.step_player("discriminator", lambda: gan_loss("non_saturating").discriminator(
        model.discriminator_logits(real), model.discriminator_logits(fake))
        + model.information_loss(8, rng))
    _assert_identical(players["generator"], g_before)
    d_before = _snapshot(players["discriminator"])
    model.step_player("generator", lambda: model.information_loss(8, rng)
                      + model.generator_loss(model.generate(model.generator_input(
                          model.noise(8, rng), *model.draw_codes(8, rng)))))
    _assert_identical(players["discriminator"], d_before)


def test_information_is_positive_and_below_log_10_in_every_batch_once_q_has_trained():
    model = _model(information_weight=1.0)
    model.build_optimizers(2e-3, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    rng = np.random.default_rng(0)
    digits = _digits_batch(32)
    for _ in range(40):
        model.train_step(digits, rng)
    values = []
    for seed in range(10):
        features, categories, continuous = _features(model, 32, np.random.default_rng(seed))
        values.append(float(model.information(features, categories, continuous)[0].data))
    assert min(values) >= 0 and max(values) <= np.log(10)
    assert np.mean(values) > 0.5 * np.log(10)  # G and Q agree on most of the code


def test_samples_and_codes():
    model = _model()
    samples = model.sample(5, np.random.default_rng(0))
    assert samples.shape == (5, 1, 8, 8) and samples.min() >= -1 and samples.max() <= 1
    sweep = model.sample_with_codes(np.full(5, 3), np.linspace(-2, 2, 10).reshape(5, 2),
                                    np.random.default_rng(0))
    assert sweep.shape == (5, 1, 8, 8)
    categories, means = model.infer_codes(samples)
    assert categories.shape == (5,) and means.shape == (5, 2)
    assert set(categories) <= set(range(10))
    with pytest.raises(ValueError, match=r"categories must lie in \[0, 10\)"):
        model.sample_with_codes(np.array([10]), np.zeros((1, 2)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="wasserstein"):
        _model(loss="wasserstein")
    with pytest.raises(TypeError, match="unconditional"):
        model.sample(2, np.random.default_rng(0), y=np.zeros(2, int))


def test_generator_input_is_noise_one_hot_category_and_continuous_codes():
    model = _model()
    z = model.generator_input(np.zeros((2, 8), np.float32), np.array([1, 9]),
                              np.array([[0.5, -0.5], [1.0, 0.0]]))
    assert z.shape == (2, 8 + 10 + 2)
    np.testing.assert_array_equal(z[:, 8:18].argmax(1), [1, 9])
    np.testing.assert_array_equal(z[:, 18:], [[0.5, -0.5], [1.0, 0.0]])
    assert model.generator[0].weight.shape[0] == 20
    assert isinstance(model.information(*_features(model, 2, np.random.default_rng(0)))[0],
                      Tensor)
