"""GAN (MLP), its games, PacGAN packing and WGAN-GP's n_critic; the conditional GAN.

The optimal discriminator of a fixed generator on a discrete toy is p_data/(p_data + p_g):
½ with value −log 4 when p_g = p_data. Each player's step moves only that player.
"""

from functools import partial

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from minigen.models.adversarial.cgan import ConditionalGAN
from minigen.models.adversarial.gan import GAN
from minigen.models.base import PlayerSettings, TrainsItself

GAN_BETAS = PlayerSettings(betas=(0.5, 0.999))


def _snapshot(parameters):
    return [p.data.copy() for p in parameters]


def _assert_identical(parameters, snapshot):
    for p, before in zip(parameters, snapshot):
        np.testing.assert_array_equal(p.data, before)


def _assert_all_moved(parameters, snapshot):
    """Every weight matrix moved (a critic's output bias has no gradient in the Wasserstein
    game: it cancels in E d(G(z)) − E d(x))."""
    moved = [not np.array_equal(p.data, before) for p, before in zip(parameters, snapshot)]
    assert all(m for m, p in zip(moved, parameters) if p.ndim >= 2) and any(moved)


def _digits_batch(n=16, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 1, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "wasserstein"])
def test_each_player_step_moves_only_that_player(loss):
    model = GAN((1, 8, 8), rng=np.random.default_rng(0), hidden=(16,),
                discriminator_hidden=(16,), loss=loss)
    model.build_optimizers(1e-3, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    generator, discriminator = model.players()["generator"], model.players()["discriminator"]
    real, rng = Tensor(_digits_batch()), np.random.default_rng(1)
    fake = model.generate(model.noise(16, rng)).detach()

    g_before, d_before = _snapshot(generator), _snapshot(discriminator)
    model.step_player("discriminator", lambda: model.discriminator_loss(real, fake, rng))
    _assert_identical(generator, g_before)  # bit-identical G after a D step
    _assert_all_moved(discriminator, d_before)

    g_before, d_before = _snapshot(generator), _snapshot(discriminator)
    z = model.noise(16, rng)
    model.step_player("generator", lambda: model.generator_loss(model.generate(z)))
    _assert_identical(discriminator, d_before)  # bit-identical D after a G step
    _assert_all_moved(generator, g_before)


def test_train_step_takes_n_critic_discriminator_steps_and_one_generator_step():
    model = GAN((2,), rng=np.random.default_rng(0), hidden=(8,), discriminator_hidden=(8,),
                loss="wasserstein", output="linear")
    optimizers = model.build_optimizers(1e-3, {"discriminator": PlayerSettings(steps=5)})
    figures = model.train_step(np.random.default_rng(1).standard_normal((10, 2)),
                               np.random.default_rng(2))
    assert set(figures) == {"discriminator", "generator", "d_real", "d_fake"}
    steps = {name: int(opt.state[0]["step"]) for name, opt in optimizers.items()}
    assert steps == {"discriminator": 5, "generator": 1}
    assert model.player_steps("discriminator") == 5


def test_wasserstein_critic_loss_adds_lambda_times_the_gradient_penalty():
    model = GAN((2,), rng=np.random.default_rng(0), hidden=(8,), discriminator_hidden=(8,),
                loss="wasserstein", output="linear", gradient_penalty_weight=10.0)
    rng = np.random.default_rng(3)
    real, fake = Tensor(rng.standard_normal((6, 2))), Tensor(rng.standard_normal((6, 2)))
    with_penalty = model.discriminator_loss(real, fake, np.random.default_rng(4)).data
    model.gradient_penalty_weight = 0.0
    without = model.discriminator_loss(real, fake, np.random.default_rng(4)).data
    critic_gap = (model.discriminator_logits(fake).data.mean()
                  - model.discriminator_logits(real).data.mean())
    assert without == pytest.approx(critic_gap, rel=1e-5)  # E d(G(z)) − E d(x)
    assert with_penalty > without  # + λ E (‖∇d(x̂)‖ − 1)² ≥ 0, and > 0 at initialisation


def test_pack_concatenates_consecutive_examples_into_one_discriminator_input():
    model = GAN((2,), rng=np.random.default_rng(0), hidden=(8,), discriminator_hidden=(8,),
                pack=2, output="linear")
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    packed = model.discriminator[0].weight.shape[1]
    assert packed == 4  # D's input: 2 examples × 2 coordinates
    logits = model.discriminator_logits(x).data
    manual = model.discriminator(Tensor(x.reshape(3, 4))).data.reshape(-1)
    np.testing.assert_array_equal(logits, manual)
    with pytest.raises(ValueError, match="5 examples do not fill packs of 2"):
        model.discriminator_logits(x[:5])


def test_train_step_drops_the_examples_that_do_not_fill_a_pack():
    model = GAN((2,), rng=np.random.default_rng(0), hidden=(8,), discriminator_hidden=(8,),
                pack=4, output="linear")
    model.build_optimizers(1e-3)
    figures = model.train_step(np.zeros((10, 2)), np.random.default_rng(0))  # 8 used
    assert np.isfinite(figures["discriminator"])
    with pytest.raises(ValueError, match="batch of 3 cannot fill one pack of 4"):
        model.train_step(np.zeros((3, 2)), np.random.default_rng(0))


def test_samples_have_the_data_shape_and_the_tanh_range():
    model = GAN((1, 8, 8), rng=np.random.default_rng(0), hidden=(16,))
    model.generator[0].weight.data *= 50  # saturate tanh: the range must still hold
    samples = model.sample(7, np.random.default_rng(1))
    assert samples.shape == (7, 1, 8, 8)
    assert samples.min() >= -1 and samples.max() <= 1
    assert GAN((2,), rng=np.random.default_rng(0), output="linear").sample(
        3, np.random.default_rng(0)).shape == (3, 2)


def test_same_seed_same_samples_and_the_protocol_is_declared():
    a = GAN((2,), rng=np.random.default_rng(5), output="linear")
    b = GAN((2,), rng=np.random.default_rng(5), output="linear")
    np.testing.assert_array_equal(a.sample(4, np.random.default_rng(1)),
                                  b.sample(4, np.random.default_rng(1)))
    assert isinstance(a, TrainsItself) and set(a.players()) == {"generator", "discriminator"}
    assert a.conditions == () and ConditionalGAN.conditions == ("y",)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="loss must be one of"):
        GAN((2,), rng=np.random.default_rng(0), loss="wgan")
    with pytest.raises(ValueError, match="output must be one of"):
        GAN((2,), rng=np.random.default_rng(0), output="sigmoid")
    model = GAN((1, 8, 8), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"x has shape \(4, 64\), expected \(N, 1, 8, 8\)"):
        model.loss(np.zeros((4, 64)), np.random.default_rng(0))
    with pytest.raises(TypeError, match="unconditional"):
        model.sample(2, np.random.default_rng(0), y=np.zeros(2, int))


# ----- the optimal discriminator on a discrete toy ----------------------------------------
POINTS = np.array([[-1.0], [0.0], [1.0], [2.0]])


def _train_discriminator_against_fixed_generator(p_data, p_g, steps=600, seed=0):
    """D steps only (G is a fixed discrete distribution p_g over POINTS); returns D at POINTS
    and the trained D's loss (−V) on large samples."""
    model = GAN((1,), rng=np.random.default_rng(seed), hidden=(8,), discriminator_hidden=(32,),
                loss="minimax", output="linear")
    model.build_optimizers(1e-2)
    rng = np.random.default_rng(seed + 1)
    for _ in range(steps):
        real = Tensor(POINTS[rng.choice(4, 256, p=p_data)])
        fake = Tensor(POINTS[rng.choice(4, 256, p=p_g)])
        model.step_player("discriminator", partial(model.discriminator_loss, real, fake, rng))
    d = ag.sigmoid(model.discriminator_logits(POINTS)).data
    value = -(p_data @ np.log(d) + p_g @ np.log(1 - d))  # −V(D, G) with exact expectations
    return d, value


def test_optimal_discriminator_is_p_data_over_p_data_plus_p_g():
    p_data, p_g = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.4, 0.3, 0.2, 0.1])
    d, value = _train_discriminator_against_fixed_generator(p_data, p_g)
    optimal = p_data / (p_data + p_g)
    np.testing.assert_allclose(d, optimal, atol=0.04)
    # V(D*, G) = −log 4 + 2 JSD(p_data ‖ p_g)
    mixture = (p_data + p_g) / 2
    jsd = 0.5 * (p_data @ np.log(p_data / mixture) + p_g @ np.log(p_g / mixture))
    assert -value == pytest.approx(-np.log(4) + 2 * jsd, abs=0.01)


def test_optimal_discriminator_is_one_half_and_the_value_minus_log_4_at_p_g_equals_p_data():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    d, value = _train_discriminator_against_fixed_generator(p, p)
    np.testing.assert_allclose(d, 0.5, atol=0.04)
    assert -value == pytest.approx(-np.log(4), abs=0.01)


# ----- the conditional GAN --------------------------------------------------------------
def test_conditional_gan_feeds_the_label_to_both_players():
    model = ConditionalGAN((1, 8, 8), rng=np.random.default_rng(0), hidden=(16,),
                           discriminator_hidden=(16,))
    assert model.generator[0].weight.shape[1] == model.latent_dim + 10
    assert model.discriminator[0].weight.shape[1] == 64 + 10
    fours = model.sample(3, np.random.default_rng(1), y=np.array([4, 4, 4]))
    sevens = model.sample(3, np.random.default_rng(1), y=np.array([7, 7, 7]))
    assert fours.shape == (3, 1, 8, 8) and not np.allclose(fours, sevens)  # same z, new y
    x = _digits_batch(4)
    d_as_four = model.discriminator_logits(x, Tensor(model.one_hot(np.full(4, 4), 4))).data
    d_as_seven = model.discriminator_logits(x, Tensor(model.one_hot(np.full(4, 7), 4))).data
    assert not np.allclose(d_as_four, d_as_seven)


def test_conditional_gan_trains_with_labels_and_refuses_to_work_without_them():
    model = ConditionalGAN((1, 8, 8), rng=np.random.default_rng(0), hidden=(16,),
                           discriminator_hidden=(16,), pack=2)
    model.build_optimizers(1e-3, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    labels = np.arange(8) % 10
    figures = model.train_step(_digits_batch(8), np.random.default_rng(0), y=labels)
    assert np.isfinite(figures["generator"])
    with pytest.raises(ValueError, match="pass the labels, y="):
        model.train_step(_digits_batch(8), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        model.sample(2, np.random.default_rng(0), y=np.array([3, 10]))
    with pytest.raises(ValueError, match=r"y must be 2 integer labels"):
        model.sample(2, np.random.default_rng(0), y=np.array([0.5, 1.0]))
