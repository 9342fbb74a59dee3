"""The generative classifier: Bayes' rule, the prior, rejection, the likelihood ratio."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from minigen.models.sequence.generative_classifier import GaussianDensity, GenerativeClassifier


def _binary(n, rng, shape=(1, 2, 3)):
    return rng.integers(0, 2, (n, *shape)).astype(np.float32)


def _made_classifier(seed=0, classes=3):
    return GenerativeClassifier((1, 2, 3), rng=np.random.default_rng(seed), num_classes=classes,
                                density="made",
                                density_hparams={"hidden": [7], "num_masks": 1,
                                                 "ordering": "natural"})


def _toy_gaussian_classifier(rng):
    """Three known 2-D Gaussians and a known prior, set by hand."""
    model = GenerativeClassifier((2,), rng=rng, num_classes=3, density="gaussian")
    means = rng.standard_normal((3, 2))
    factors = [np.linalg.cholesky(a @ a.T + 0.1 * np.eye(2))
               for a in rng.standard_normal((3, 2, 2))]
    for k in range(3):
        model.class_density(k).mean, model.class_density(k).cholesky = means[k], factors[k]
    model.class_counts = np.array([1.0, 2.0, 5.0])
    return model, means, [f @ f.T for f in factors], np.array([1, 2, 5]) / 8


@pytest.mark.parametrize("density", ["made", "gaussian"])
def test_posterior_normalises_over_classes(density):
    rng = np.random.default_rng(1)
    if density == "made":
        model = _made_classifier(1)
    else:
        model = GenerativeClassifier((1, 2, 3), rng=rng, num_classes=3, density="gaussian")
        model.train_step(_binary(30, rng), rng, y=rng.integers(0, 3, 30))
    posterior = model.log_posterior(_binary(9, rng))
    np.testing.assert_allclose(np.logaddexp.reduce(posterior, axis=1), 0.0, atol=1e-12)


def test_identical_class_models_give_back_the_prior():
    model = _made_classifier(2)
    state = model.class_density(0).state_dict()
    for k in (1, 2):
        model.class_density(k).load_state_dict(state)
    model.class_counts = np.array([2.0, 3.0, 5.0])
    posterior = np.exp(model.log_posterior(_binary(7, np.random.default_rng(3))))
    np.testing.assert_allclose(posterior, np.tile([0.2, 0.3, 0.5], (7, 1)), rtol=1e-6)


@given(st.integers(0, 2**31 - 1))
def test_posterior_is_exact_bayes_on_known_class_densities(seed):
    rng = np.random.default_rng(seed)
    model, means, covariances, prior = _toy_gaussian_classifier(rng)
    x = rng.standard_normal((5, 2)) * 2
    joint = np.stack([stats.multivariate_normal(means[k], covariances[k]).pdf(x) * prior[k]
                      for k in range(3)], axis=1)  # p(x | k) p(k)
    np.testing.assert_allclose(np.exp(model.log_posterior(x)),
                               joint / joint.sum(axis=1, keepdims=True), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(model.log_prob(x), np.log(joint.sum(axis=1)), rtol=1e-9)


def test_gaussian_density_is_the_mle_from_running_sums():
    rng = np.random.default_rng(4)
    data = rng.standard_normal((50, 3)) @ rng.standard_normal((3, 3))
    density = GaussianDensity(3, covariance_floor=0.01)
    for start in range(0, 50, 16):
        density.count_batch(data[start:start + 16])
    np.testing.assert_allclose(density.mean, data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(density.cholesky @ density.cholesky.T,
                               np.cov(data.T, bias=True) + 0.01 * np.eye(3), rtol=1e-10)
    expected = stats.multivariate_normal(data.mean(axis=0),
                                         np.cov(data.T, bias=True) + 0.01 * np.eye(3))
    np.testing.assert_allclose(density.log_prob_flat(data[:5]), expected.logpdf(data[:5]),
                               rtol=1e-10)


def test_threshold_rejects_the_chosen_fraction_of_training_data():
    rng = np.random.default_rng(5)
    model, *_ = _toy_gaussian_classifier(rng)
    train = rng.standard_normal((400, 2))
    threshold = model.calibrate(train, percentile=10.0)
    predicted = model.predict(train)
    assert abs((predicted == -1).mean() - 0.10) < 0.01
    assert (model.log_prob(train)[predicted == -1] < threshold).all()
    np.testing.assert_array_equal(model.predict(train, reject=False),
                                  model.log_posterior(train).argmax(axis=1))


def test_likelihood_ratio_subtracts_the_background_model():
    model = _made_classifier(6)
    x = _binary(5, np.random.default_rng(7))
    np.testing.assert_allclose(model.likelihood_ratio(x),
                               model.log_prob(x) - model.class_density(3).log_prob(x), rtol=1e-6)


def test_training_fits_each_class_and_the_background():
    rng = np.random.default_rng(8)
    model = _made_classifier(8, classes=2)
    model.build_optimizers(0.05)
    x = np.concatenate([np.ones((20, 1, 2, 3)), np.zeros((20, 1, 2, 3))]).astype(np.float32)
    y = np.repeat([0, 1], 20)
    before = float(model.loss(x, rng, y=y).data)
    for _ in range(60):
        model.train_step(x, rng, y=y)
    assert float(model.loss(x, rng, y=y).data) < before - 1.0
    np.testing.assert_allclose(np.exp(model.log_prior()), [0.5, 0.5])
    assert (model.predict(x, reject=False) == y).all()
    # the background saw noisy copies: it spreads mass beyond the two training patterns
    other = np.array([[[[1, 0, 1], [0, 1, 0]]]], dtype=np.float32)
    assert model.background_log_prob(other)[0] > model.log_prob(other)[0]


def test_perturbation_replaces_at_rate_mu():
    model = GenerativeClassifier((1, 8, 8), rng=np.random.default_rng(0), density="gaussian",
                                 perturbation=0.2)
    x = np.zeros((500, 1, 8, 8), dtype=np.float32)
    flipped = model.perturb(x, np.random.default_rng(1)).mean()
    assert abs(flipped - 0.1) < 0.01  # replaced w.p. 0.2 by a fair bit: on w.p. 0.1


def test_errors_name_the_argument():
    model = _made_classifier()
    with pytest.raises(ValueError, match="density"):
        GenerativeClassifier((2,), rng=np.random.default_rng(0), density="vae")
    with pytest.raises(ValueError, match="y must be"):
        model.loss(_binary(3, np.random.default_rng(0)), None, y=np.array([0, 1, 7]))
    with pytest.raises(ValueError, match="labels"):
        model.loss(_binary(3, np.random.default_rng(0)), None)


def test_samples_follow_the_requested_classes():
    rng = np.random.default_rng(9)
    model, means, _, _ = _toy_gaussian_classifier(rng)
    draws = model.sample(3000, np.random.default_rng(10), y=np.repeat([0, 1, 2], 1000))
    assert draws.shape == (3000, 2)
    for k in range(3):
        np.testing.assert_allclose(draws[k * 1000:(k + 1) * 1000].mean(axis=0), means[k],
                                   atol=0.15)
