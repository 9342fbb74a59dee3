"""Guidance: the two classifier-free conventions agree, classifier guidance with the exact
classifier of a mixture gives the exact conditional ε*, and the classifier gradient
matches finite differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.models.diffusion.classifier_free_guidance import (
    ClassifierFreeGuidance,
    guided_eps_s,
    guided_eps_w,
    labels_for,
)
from minigen.models.diffusion.classifier_guidance import (
    ClassifierGuidance,
    classifier_guided_eps,
)
from minigen.models.diffusion.process import mixture_optimal_eps

FLOATS = st.floats(-4, 4)


@given(st.integers(0, 2 ** 16), FLOATS)
def test_the_two_classifier_free_conventions_agree_at_s_equals_one_plus_w(seed, w):
    eps_c, eps_u = np.random.default_rng(seed).standard_normal((2, 5, 3))
    np.testing.assert_allclose(guided_eps_w(eps_c, eps_u, w), guided_eps_s(eps_c, eps_u, 1 + w),
                               atol=1e-12)
    np.testing.assert_allclose(guided_eps_w(eps_c, eps_u, 0.0), eps_c, atol=1e-15)  # w = 0: cond.
    np.testing.assert_allclose(guided_eps_s(eps_c, eps_u, 1.0), eps_c, atol=1e-15)  # s = 1: cond.
    np.testing.assert_array_equal(guided_eps_s(eps_c, eps_u, 0.0), eps_u)  # s = 0: uncond.


def _mixture():
    return np.array([0.6, 0.4]), np.array([[-1.0, 0.5], [1.5, -0.5]]), np.array([0.3, 0.1])


def _log_p_y_given_x(x, y, alpha_bar):
    weights, means, variances = _mixture()
    var = alpha_bar * variances + 1 - alpha_bar
    log_joint = (np.log(weights) - 0.5 * ((x[:, None] - np.sqrt(alpha_bar) * means) ** 2).sum(-1)
                 / var - np.log(2 * np.pi * var))
    return log_joint[np.arange(len(x)), y] - np.logaddexp.reduce(log_joint, axis=1)


def test_classifier_guidance_at_scale_one_with_the_exact_classifier_is_the_exact_conditional():
    weights, means, variances = _mixture()
    rng = np.random.default_rng(0)
    x_t, y, alpha_bar, h = rng.standard_normal((6, 2)), rng.integers(0, 2, 6), 0.4, 1e-6
    gradient = np.stack([(_log_p_y_given_x(x_t + h * e, y, alpha_bar)
                          - _log_p_y_given_x(x_t - h * e, y, alpha_bar)) / (2 * h)
                         for e in np.eye(2)], axis=1)
    guided = classifier_guided_eps(mixture_optimal_eps(x_t, alpha_bar, weights, means, variances),
                                   gradient, alpha_bar, 1.0)
    conditional = np.stack([mixture_optimal_eps(x_t[i:i + 1], alpha_bar, np.ones(1),
                                                means[y[i]:y[i] + 1], variances[y[i]:y[i] + 1])[0]
                            for i in range(6)])
    np.testing.assert_allclose(guided, conditional, atol=1e-7)


def _as_float64(module):
    for parameter in module.parameters():
        parameter.data = parameter.data.astype(np.float64)


@pytest.mark.parametrize("data_shape", [(2,), (1, 4, 4)])
def test_classifier_gradient_matches_finite_differences(data_shape):
    rng = np.random.default_rng(1)
    model = ClassifierGuidance(data_shape, rng=rng, num_classes=3, timesteps=50, width=8,
                               hidden=8, classifier_width=8)
    _as_float64(model.classifier)
    x_t, y, t = rng.standard_normal((3, *data_shape)), np.array([0, 2, 1]), 17
    gradient = model.classifier_gradient(x_t, t, y)
    with ag.no_grad():  # as the plots and the CLI sample
        np.testing.assert_array_equal(model.classifier_gradient(x_t, t, y), gradient)

    def log_prob(x):
        return model.classifier_log_prob(x, np.full(3, t), y).data

    h = 1e-6
    numeric = np.zeros_like(x_t)
    for index in np.ndindex(*x_t.shape[1:]):
        step = np.zeros_like(x_t)
        step[(slice(None), *index)] = h
        numeric[(slice(None), *index)] = (log_prob(x_t + step) - log_prob(x_t - step)) / (2 * h)
    np.testing.assert_allclose(gradient, numeric, atol=1e-7, rtol=1e-5)


def test_classifier_guidance_at_scale_zero_is_the_unconditional_model():
    rng = np.random.default_rng(2)
    model = ClassifierGuidance((2,), rng=rng, num_classes=3, timesteps=50, hidden=16)
    x_t = rng.standard_normal((4, 2))
    np.testing.assert_array_equal(model.guided_eps_fn(np.zeros(4, int), 0.0)(x_t, 9),
                                  model.eps_fn()(x_t, 9))
    loss = model.loss(x_t.astype(np.float32), rng, y=np.array([0, 1, 2, 0]))
    assert loss.shape == () and np.isfinite(loss.data)


def test_classifier_free_guidance_weight_zero_is_the_conditional_network():
    rng = np.random.default_rng(3)
    model = ClassifierFreeGuidance((2,), rng=rng, num_classes=3, timesteps=50, hidden=16)
    x_t, y = rng.standard_normal((4, 2)), np.array([0, 1, 2, 1])
    conditional = model.eps_fn(y=y)(x_t, 11)
    unconditional = model.eps_fn(y=np.full(4, 3))(x_t, 11)
    np.testing.assert_allclose(model.guided_eps_fn(y, 0.0)(x_t, 11), conditional, atol=1e-6)
    np.testing.assert_allclose(model.guided_eps_fn(y, -1.0)(x_t, 11), unconditional, atol=1e-6)
    np.testing.assert_allclose(model.guided_eps_fn(y, 2.0)(x_t, 11),
                               3 * conditional - 2 * unconditional, atol=1e-5)


def test_classifier_free_training_drops_labels_with_probability_p_uncond():
    rng = np.random.default_rng(4)
    model = ClassifierFreeGuidance((2,), rng=rng, num_classes=3, p_uncond=0.2, timesteps=50,
                                   hidden=16)
    seen = []
    network = model.network
    original = type(network).forward

    def recording(self, x, t, y=None):
        seen.append(np.asarray(y))
        return original(self, x, t, y)

    type(network).forward = recording
    try:
        model.loss(np.zeros((20000, 2), np.float32), rng, y=np.ones(20000, int))
    finally:
        type(network).forward = original
    dropped = (seen[0] == 3).mean()
    assert set(np.unique(seen[0])) == {1, 3}
    assert abs(dropped - 0.2) < 4 * np.sqrt(0.2 * 0.8 / 20000)


def test_labels_for_checks_the_range():
    np.testing.assert_array_equal(labels_for(5, None, 3), [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(labels_for(3, 2, 3), [2, 2, 2])
    with pytest.raises(ValueError, match=r"y must lie in \[0, 2\]"):
        labels_for(2, 3, 3)
