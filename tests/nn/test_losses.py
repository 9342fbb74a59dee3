"""minigen.nn.losses: every GAN game against its formula, stability on logits of ±1e4, the
non-saturating generator's gradient where the minimax one vanishes, and the gradient
penalty and R1 (closed forms on a linear critic; double backward against finite
differences)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit, log_expit

import autograd as ag
from autograd import Tensor
from minigen.nn.losses import (
    GAN_LOSSES,
    bce_with_logits,
    bernoulli_log_likelihood,
    gan_loss,
    gradient_penalty,
    r1_penalty,
)

logit_lists = st.lists(st.floats(-30, 30), min_size=1, max_size=8)


def _expected(name: str, real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """(discriminator, generator) losses written from the papers' formulas in NumPy."""
    log_d_real, log_d_fake = log_expit(real), log_expit(fake)  # log D = log σ(l)
    log_one_minus_d_fake = log_expit(-fake)  # log(1 − σ(l)) = log σ(−l)
    cross_entropy = -log_d_real.mean() - log_one_minus_d_fake.mean()
    return {
        "minimax": (cross_entropy, log_one_minus_d_fake.mean()),
        "non_saturating": (cross_entropy, -log_d_fake.mean()),
        "least_squares": (0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean(),
                          0.5 * ((fake - 1) ** 2).mean()),
        "hinge": (np.maximum(0, 1 - real).mean() + np.maximum(0, 1 + fake).mean(),
                  -fake.mean()),
        "wasserstein": (fake.mean() - real.mean(), -fake.mean()),
    }[name]


@pytest.mark.parametrize("name", sorted(GAN_LOSSES))
@given(real=logit_lists, fake=logit_lists)
def test_every_game_matches_its_formula(name, real, fake):
    real, fake = np.array(real), np.array(fake)
    game = gan_loss(name)
    expected_d, expected_g = _expected(name, real, fake)
    assert game.discriminator(Tensor(real), Tensor(fake)).data == pytest.approx(
        expected_d, rel=1e-9, abs=1e-9)
    assert game.generator(Tensor(fake)).data == pytest.approx(expected_g, rel=1e-9, abs=1e-9)


def test_unknown_game_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown GAN loss 'wgan'.*non_saturating"):
        gan_loss("wgan")


@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=6),
       st.lists(st.floats(-30, 30), min_size=6, max_size=6))
def test_bce_and_bernoulli_likelihood_are_the_log_of_sigma(targets, logits):
    targets, logits = np.array(targets), np.array(logits[:len(targets)])
    log_p = targets * log_expit(logits) + (1 - targets) * log_expit(-logits)
    np.testing.assert_allclose(bernoulli_log_likelihood(targets, Tensor(logits)).data, log_p,
                               rtol=1e-9, atol=1e-12)
    assert bce_with_logits(Tensor(logits), targets).data == pytest.approx(-log_p.mean(),
                                                                          rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", sorted(GAN_LOSSES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_games_stay_finite_with_finite_gradients_at_logits_of_1e4(name, dtype):
    values = np.array([-1e4, 1e4, 0.0], dtype=dtype)
    real, fake = Tensor(values, requires_grad=True), Tensor(values[::-1].copy(),
                                                            requires_grad=True)
    game = gan_loss(name)
    for loss in (game.discriminator(real, fake), game.generator(fake)):
        real.grad = fake.grad = None
        loss.backward()
        assert np.isfinite(loss.data)
        for tensor in (real, fake):
            assert tensor.grad is None or np.all(np.isfinite(tensor.grad))


def test_cross_entropy_at_extreme_logits_is_the_exact_asymptote():
    # a confident, wrong discriminator: d(x) = −1e4 on real, +1e4 on fake
    loss = gan_loss("non_saturating").discriminator(Tensor(np.array([-1e4])),
                                                    Tensor(np.array([1e4])))
    assert loss.data == pytest.approx(2e4)  # −log σ(−1e4) − log(1 − σ(1e4)) = 1e4 + 1e4


def _numerical_derivative(loss_of_logit, logit: float, step: float = 1e-4) -> float:
    return (loss_of_logit(logit + step) - loss_of_logit(logit - step)) / (2 * step)


@pytest.mark.parametrize("fake_logit", [-5.0, -10.0, -20.0])
def test_non_saturating_gradient_survives_where_the_minimax_one_vanishes(fake_logit):
    # D(G(z)) = σ(f) → 0 as f → −∞: a discriminator that confidently rejects the fakes.
    def value(name):
        return lambda f: float(gan_loss(name).generator(Tensor(np.array([f]))).data)

    minimax = _numerical_derivative(value("minimax"), fake_logit)
    non_saturating = _numerical_derivative(value("non_saturating"), fake_logit)
    assert minimax == pytest.approx(-expit(fake_logit), rel=1e-5)  # d/df −softplus(f) = −σ(f)
    assert non_saturating == pytest.approx(expit(fake_logit) - 1, rel=1e-5)  # σ(f) − 1
    assert abs(non_saturating) > 0.99
    assert abs(minimax) < 1e-2 and abs(non_saturating) > 100 * abs(minimax)
    # autograd agrees with the finite differences
    for name, numeric in (("minimax", minimax), ("non_saturating", non_saturating)):
        f = Tensor(np.array([fake_logit]), requires_grad=True)
        gan_loss(name).generator(f).backward()
        assert f.grad[0] == pytest.approx(numeric, rel=1e-5)


# ----- gradient penalty and R1 --------------------------------------------------------------
def _linear_critic(weights: Tensor):
    return lambda x: (x * weights).sum(axis=1)  # d(x) = w·x, so ∇ₓd = w everywhere


@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3), st.integers(0, 2**31 - 1))
def test_penalties_of_a_linear_critic_are_closed_form(w, seed):
    rng = np.random.default_rng(seed)
    weights = Tensor(np.array(w))
    real, fake = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    norm = np.linalg.norm(w)
    gp = gradient_penalty(_linear_critic(weights), real, fake, rng)
    assert gp.data == pytest.approx((np.sqrt(norm**2 + 1e-12) - 1) ** 2, rel=1e-9, abs=1e-9)
    assert gradient_penalty(_linear_critic(weights), real, fake, rng,
                            center=0.0).data == pytest.approx(norm**2, rel=1e-6, abs=1e-9)
    assert r1_penalty(_linear_critic(weights), real).data == pytest.approx(0.5 * norm**2,
                                                                           rel=1e-9, abs=1e-12)


def _tanh_critic(w1: Tensor, w2: Tensor):
    return lambda x: ag.tanh(x @ w1) @ w2  # a smooth critic: its input gradient depends on x


def test_gradient_penalty_gradient_matches_finite_differences_through_double_backward():
    rng = np.random.default_rng(0)
    w1 = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w2 = Tensor(rng.standard_normal(4), requires_grad=True)
    real, fake = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))

    def penalty(a, b):  # the same interpolation points ε on every call
        return gradient_penalty(_tanh_critic(a, b), real, fake, np.random.default_rng(1))

    assert ag.gradcheck(penalty, [w1, w2])


def test_r1_gradient_matches_finite_differences_through_double_backward():
    rng = np.random.default_rng(2)
    w1 = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w2 = Tensor(rng.standard_normal(4), requires_grad=True)
    real = rng.standard_normal((6, 3))
    assert ag.gradcheck(lambda a, b: r1_penalty(_tanh_critic(a, b), real), [w1, w2])


def test_gradient_penalty_refuses_real_and_fake_of_different_shapes():
    weights = Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"real \(4, 3\) and fake \(5, 3\)"):
        gradient_penalty(_linear_critic(weights), np.zeros((4, 3)), np.zeros((5, 3)),
                         np.random.default_rng(0))
