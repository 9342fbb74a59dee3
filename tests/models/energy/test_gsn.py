"""Properties of the GSN: its corruption, its walkback loss and its Markov chain."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.distributions import Bernoulli
from minigen.models.energy.gsn import GSN, salt_and_pepper

SHAPE = (1, 3, 3)


def _binary(n, seed=0, shape=SHAPE):
    return (np.random.default_rng(seed).random((n, *shape)) < 0.4).astype(np.float64)


def _model(**hparams):
    return GSN(SHAPE, rng=np.random.default_rng(0), hidden=(5,), **hparams).astype(np.float64)


def _nll(logits, x):
    # −log Bernoulli(x; σ(l)) summed over pixels = Σ softplus(l) − x·l
    return (np.logaddexp(0, logits) - x * logits).reshape(len(x), -1).sum(axis=1).mean()


@given(probability=st.sampled_from([0.0, 0.3, 1.0]), value=st.sampled_from([0.0, 1.0]))
def test_salt_and_pepper_replaces_a_fraction_of_pixels_by_fair_coins(probability, value):
    x = np.full((400, 50), value)
    noisy = salt_and_pepper(x, probability, np.random.default_rng(0))
    assert set(np.unique(noisy)) <= {0.0, 1.0}
    # a pixel changes when it is replaced (probability p) and the coin disagrees (1/2)
    assert np.mean(noisy != x) == pytest.approx(probability / 2, abs=0.01)


def test_one_step_walkback_loss_is_the_denoising_negative_log_likelihood():
    model, x = _model(walkback=1), _binary(6)
    noisy = model.corrupt(x, np.random.default_rng(3))
    expected = _nll(model(noisy).data, x)
    assert model.loss(x, np.random.default_rng(3)).item() == pytest.approx(expected)


def test_walkback_averages_reconstructions_of_the_clean_input_along_the_chain():
    model, x = _model(walkback=3), _binary(6)
    rng = np.random.default_rng(4)
    walker, terms = x, []
    for _ in range(3):
        logits = model(model.corrupt(walker, rng)).data
        terms.append(_nll(logits, x))  # the target is always the clean x
        walker = Bernoulli(logits).sample(rng)
    assert model.loss(x, np.random.default_rng(4)).item() == pytest.approx(np.mean(terms))


def test_walkback_loss_gradient_matches_finite_differences():
    model, x = _model(walkback=2), _binary(3)
    ag.gradcheck(lambda *_: model.loss(x, np.random.default_rng(5)), model.parameters(),
                 order=1)


def test_chain_starts_at_x0_and_moves_by_binary_draws():
    model, x0 = _model(), _binary(4)
    frames = model.chain(x0, 5, np.random.default_rng(0))
    assert frames.shape == (6, 4, *SHAPE)
    assert np.array_equal(frames[0], x0)
    assert set(np.unique(frames)) <= {0.0, 1.0}
    means = model.chain(x0, 5, np.random.default_rng(0), probabilities=True)
    assert np.all((means[1:] > 0) & (means[1:] < 1))
    samples = model.sample(7, np.random.default_rng(1), steps=3)
    assert samples.shape == (7, *SHAPE) and set(np.unique(samples)) <= {0.0, 1.0}


def test_training_lowers_the_walkback_loss():
    from minigen.optim import Adam

    model, x = _model(walkback=2), _binary(32)
    optimizer = Adam(model.parameters(), lr=3e-2)

    def evaluation():
        return model.loss(x, np.random.default_rng(0)).item()

    before = evaluation()
    rng = np.random.default_rng(1)
    for _ in range(50):
        optimizer.zero_grad()
        model.loss(x, rng).backward()
        optimizer.step()
    assert evaluation() < 0.85 * before


def test_gsn_rejects_bad_hyper_parameters_and_shapes():
    with pytest.raises(ValueError, match="noise_level"):
        GSN(SHAPE, rng=np.random.default_rng(0), noise_level=1.5)
    with pytest.raises(ValueError, match="walkback"):
        GSN(SHAPE, rng=np.random.default_rng(0), walkback=0)
    with pytest.raises(ValueError, match="expected"):
        _model().loss(np.zeros((2, 9)), np.random.default_rng(0))
