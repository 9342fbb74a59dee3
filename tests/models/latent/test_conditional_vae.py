"""Conditional VAE: with its label weights at zero it is the VAE on the same weights; labels
are one-hot inputs to the encoder and the decoder and do change what is generated."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.models.latent.conditional_vae import ConditionalVAE
from minigen.models.latent.vae import VAE

SHAPE = (1, 2, 3)
D, LATENT, CLASSES = 6, 2, 4


def _models(seed, likelihood="bernoulli"):
    """A VAE, and a CVAE holding its weights with zeros on the label inputs."""
    hparams = {"latent_dim": LATENT, "hidden": (5,), "likelihood": likelihood}
    vae = VAE(SHAPE, rng=np.random.default_rng(seed), **hparams)
    cvae = ConditionalVAE(SHAPE, rng=np.random.default_rng(seed + 1), num_classes=CLASSES,
                          **hparams)
    state = vae.state_dict()
    for first in ("encoder.0.weight", "decoder.0.weight"):
        width = state[first].shape[1]
        state[first] = np.concatenate([state[first], np.zeros((len(state[first]), CLASSES),
                                                              np.float32)], axis=1)
        assert state[first].shape[1] == width + CLASSES
    cvae.load_state_dict(state)
    return vae, cvae


def _data(seed, n=5):
    rng = np.random.default_rng(seed)
    return ((rng.random((n, *SHAPE)) < 0.5).astype(np.float32),
            rng.integers(0, CLASSES, n))


@given(st.integers(0, 2**31), st.sampled_from(["bernoulli", "gaussian"]))
def test_with_label_weights_zero_it_equals_the_vae_on_the_same_weights(seed, likelihood):
    vae, cvae = _models(seed, likelihood)
    x, y = _data(seed)

    def same(method, *args, **labels):
        expected = getattr(vae, method)(*args, np.random.default_rng(seed))
        got = getattr(cvae, method)(*args, np.random.default_rng(seed), **labels)
        np.testing.assert_allclose(np.asarray(getattr(got, "data", got)),
                                   np.asarray(getattr(expected, "data", expected)),
                                   rtol=1e-5, atol=1e-6)

    same("loss", x, y=y)
    same("elbo", x, y=y)
    same("reconstruct", x, y=y)
    same("sample", 5, y=y)
    expected = vae.iwae(x, 7, np.random.default_rng(seed))
    got = cvae.iwae(x, 7, np.random.default_rng(seed), y=y)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cvae.encode(x, y=y), vae.encode(x), rtol=1e-6)


def test_iwae_groups_keep_each_example_with_its_label():
    _, cvae = _models(0)
    cvae.decoder[0].weight.data[:, LATENT:] = 3.0 * np.arange(CLASSES)  # labels now matter
    x, y = _data(1, n=6)
    grouped = cvae.iwae(x, 4, np.random.default_rng(2), chunk=8, y=y)  # groups of 2 examples
    rng = np.random.default_rng(2)  # the same draws, one group per call
    one_by_one = [cvae.iwae(x[s:s + 2], 4, rng, y=y[s:s + 2]) for s in (0, 2, 4)]
    np.testing.assert_allclose(grouped, np.concatenate(one_by_one), rtol=1e-6)


def test_labels_enter_encoder_and_decoder_as_one_hot_columns():
    _, cvae = _models(0)
    assert cvae.encoder[0].weight.shape == (5, D + CLASSES)
    assert cvae.decoder[0].weight.shape == (5, LATENT + CLASSES)
    cvae.decoder[0].weight.data[:, LATENT:] = np.random.default_rng(1).normal(
        0, 3, (5, CLASSES))
    images = [cvae.sample(3, np.random.default_rng(4), y=np.full(3, label))
              for label in range(CLASSES)]
    assert not np.allclose(images[0], images[1])  # same z, another label: another image
    np.testing.assert_array_equal(cvae.one_hot([2, 0], 2),
                                  [[0, 0, 1, 0], [1, 0, 0, 0]])


def test_labels_are_checked():
    _, cvae = _models(0)
    x, y = _data(0)
    with pytest.raises(ValueError, match="pass the labels"):
        cvae.loss(x, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        cvae.loss(x, np.random.default_rng(0), y=y + CLASSES)
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        cvae.loss(x, np.random.default_rng(0), y=y[:3])
    with pytest.raises(ValueError, match="condition"):
        VAE(SHAPE, rng=np.random.default_rng(0)).loss(x, np.random.default_rng(0),
                                                      condition=np.zeros((5, 2)))
