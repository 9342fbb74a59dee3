"""Properties of the plain, denoising, sparse and stacked autoencoders and TiedLinear."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from minigen.models.latent.autoencoder import Autoencoder, ConvAutoencoder
from minigen.models.latent.denoising_autoencoder import (
    DenoisingAutoencoder,
    gaussian_noise,
    masking_noise,
)
from minigen.models.latent.sparse_autoencoder import (
    SparseAutoencoder,
    kl_sparsity_penalty,
    l1_activation_penalty,
)
from minigen.models.latent.stacked_autoencoder import StackedAutoencoder
from minigen.nn import Linear
from minigen.nn.losses import RECONSTRUCTION_LOSSES
from minigen.nn.tied import TiedLinear

SHAPE = (1, 4, 4)


def _batch(seed=0, n=5, shape=SHAPE):
    return np.random.default_rng(seed).random((n, *shape)).astype(np.float32)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _param_gradcheck(model, loss_fn, params=None):
    model.astype(np.float64)
    params = model.parameters() if params is None else params
    ag.gradcheck(lambda *_: loss_fn(), params, order=1)


# ----- the reconstruction loss ----------------------------------------------------------
@given(
    kind=st.sampled_from(["mse", "mae", "bce"]),
    logits=hnp.arrays(np.float64, (3, 1, 2, 2), elements=st.floats(-20, 20)),
    x=hnp.arrays(np.float64, (3, 1, 2, 2), elements=st.floats(0, 1)),
)
def test_reconstruction_loss_equals_its_formula(kind, logits, x):
    p = _sigmoid(logits)
    per_pixel = {
        "mse": (p - x) ** 2,
        "mae": np.abs(p - x),
        "bce": -(x * np.log(p) + (1 - x) * np.log(1 - p)),  # |logits| <= 20: no log 0
    }[kind]
    expected = per_pixel.reshape(3, -1).sum(axis=1).mean()
    got = RECONSTRUCTION_LOSSES[kind](ag.Tensor(logits), x).item()
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_reconstruction_loss_rejects_unknown_kind_and_shape_mismatch():
    with pytest.raises(ValueError, match="loss must be one of"):
        Autoencoder((1, 2, 2), rng=np.random.default_rng(0), loss="l2")
    with pytest.raises(ValueError, match="shape"):
        RECONSTRUCTION_LOSSES["mse"](ag.Tensor(np.zeros((2, 3))), np.zeros((2, 4)))


# ----- the plain autoencoder ------------------------------------------------------------
@pytest.mark.parametrize("conv", [False, True])
def test_autoencoder_maps_images_to_codes_and_back_into_unit_interval(conv):
    model = (ConvAutoencoder if conv else Autoencoder)(SHAPE, rng=np.random.default_rng(0),
                                                       hidden=(3, 4), latent_dim=2)
    x = _batch()
    assert model.encode(x).shape == (5, 2)
    reconstruction = model.reconstruct(x, np.random.default_rng(1))
    assert reconstruction.shape == x.shape
    assert np.all((reconstruction > 0) & (reconstruction < 1))
    metrics = model.metrics(x)
    assert metrics["reconstruction_mse"] == pytest.approx(np.mean((reconstruction - x) ** 2))


def test_autoencoder_refuses_to_sample_because_it_has_no_prior():
    model = Autoencoder(SHAPE, rng=np.random.default_rng(0), hidden=(3,), latent_dim=2)
    with pytest.raises(NotImplementedError, match="not a generative model"):
        model.sample(4, np.random.default_rng(0))


def test_autoencoder_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="loss"):
        Autoencoder(SHAPE, rng=rng, loss="l2")
    with pytest.raises(ValueError, match="divisible"):
        ConvAutoencoder((1, 6, 6), rng=rng, hidden=(2, 2))
    model = Autoencoder(SHAPE, rng=rng, hidden=(3,), latent_dim=2)
    with pytest.raises(ValueError, match="expected"):
        model.loss(np.zeros((2, 1, 5, 5)))


@pytest.mark.parametrize("conv,kind", [(False, "mse"), (False, "mae"), (True, "bce")])
def test_autoencoder_loss_gradient_matches_finite_differences(conv, kind):
    model = (ConvAutoencoder if conv else Autoencoder)(
        SHAPE, rng=np.random.default_rng(0), hidden=(2,), latent_dim=2, loss=kind)
    x = _batch(n=2).astype(np.float64)
    _param_gradcheck(model, lambda: model.loss(x))


def test_autoencoder_training_lowers_the_reconstruction_loss():
    from minigen.optim import Adam

    x = _batch(n=32)
    model = Autoencoder(SHAPE, rng=np.random.default_rng(0), hidden=(8,), latent_dim=4)
    optimizer = Adam(model.parameters(), lr=1e-2)
    before = model.loss(x).item()
    for _ in range(60):
        optimizer.zero_grad()
        model.loss(x).backward()
        optimizer.step()
    assert model.loss(x).item() < 0.7 * before


# ----- denoising ------------------------------------------------------------------------
@pytest.mark.parametrize("corruption", ["mask", "gaussian"])
def test_denoising_with_zero_noise_equals_the_plain_autoencoder(corruption):
    hparams = dict(hidden=(3,), latent_dim=2)
    plain = Autoencoder(SHAPE, rng=np.random.default_rng(0), **hparams)
    denoising = DenoisingAutoencoder(SHAPE, rng=np.random.default_rng(7), corruption=corruption,
                                     noise_level=0.0, **hparams)
    denoising.load_state_dict(plain.state_dict())
    x = _batch()
    assert denoising.loss(x, np.random.default_rng(3)).item() == plain.loss(x).item()


@given(fraction=st.floats(0, 1), n=st.integers(1, 4), d=st.integers(1, 20))
def test_masking_noise_zeroes_a_fixed_fraction_of_each_example(fraction, n, d):
    x = np.ones((n, d))
    noisy = masking_noise(x, fraction, np.random.default_rng(0))
    assert np.all((noisy == 0).sum(axis=1) == int(round(fraction * d)))
    assert np.all((noisy == 0) | (noisy == x))


def test_gaussian_noise_has_the_requested_standard_deviation():
    x = np.full((200, 100), 0.5)
    noisy = gaussian_noise(x, 0.3, np.random.default_rng(0))
    assert np.std(noisy - x) == pytest.approx(0.3, rel=0.02)
    assert np.mean(noisy - x) == pytest.approx(0.0, abs=0.01)


def test_denoising_loss_reconstructs_the_clean_input_from_the_corrupted_one():
    model = DenoisingAutoencoder(SHAPE, rng=np.random.default_rng(0), hidden=(3,),
                                 latent_dim=2, noise_level=0.5)
    x = _batch()
    noisy = model.corrupt(x, np.random.default_rng(5))
    expected = RECONSTRUCTION_LOSSES["mse"](model(noisy), x).item()
    assert model.loss(x, np.random.default_rng(5)).item() == pytest.approx(expected)
    clean = RECONSTRUCTION_LOSSES["mse"](model(x), x).item()
    assert model.loss(x, np.random.default_rng(5)).item() != pytest.approx(clean)
    assert np.allclose(model.denoise(noisy), _sigmoid(model(noisy).data), atol=1e-6)


# ----- sparsity -------------------------------------------------------------------------
@given(
    rate=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(1e-3, 1 - 1e-3)),
    target=st.floats(0.01, 0.99),
)
def test_kl_sparsity_penalty_equals_its_formula(rate, target):
    expected = np.sum(target * np.log(target / rate)
                      + (1 - target) * np.log((1 - target) / (1 - rate)))
    got = kl_sparsity_penalty(ag.Tensor(rate), target).item()
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


@given(target=st.floats(0.01, 0.99), d=st.integers(1, 5))
def test_kl_sparsity_penalty_vanishes_when_every_unit_fires_at_the_target(target, d):
    assert kl_sparsity_penalty(ag.Tensor(np.full(d, target)), target).item() == \
        pytest.approx(0.0, abs=1e-12)


@given(code=hnp.arrays(np.float64, (3, 4), elements=st.floats(-5, 5)))
def test_l1_penalty_equals_its_formula(code):
    expected = np.abs(code).sum(axis=1).mean()
    assert l1_activation_penalty(ag.Tensor(code)).item() == pytest.approx(expected)


def test_kl_sparsity_penalty_gradient_matches_finite_differences():
    rate = ag.Tensor(np.array([0.1, 0.4, 0.8]), requires_grad=True)
    ag.gradcheck(lambda r: kl_sparsity_penalty(r, 0.05), [rate], order=2)


@pytest.mark.parametrize("penalty", ["kl", "l1"])
def test_sparse_loss_is_reconstruction_plus_weighted_penalty(penalty):
    model = SparseAutoencoder(SHAPE, rng=np.random.default_rng(0), hidden=(), latent_dim=6,
                              penalty=penalty, sparsity_target=0.1, beta=0.7, l1_weight=0.3)
    x = _batch().astype(np.float64)
    model.astype(np.float64)
    code = model.encode(x)
    assert np.all((code > 0) & (code < 1))  # sigmoid units
    rate = code.mean(axis=0)
    if penalty == "kl":
        expected_penalty = 0.7 * np.sum(0.1 * np.log(0.1 / rate) + 0.9 * np.log(0.9 / (1 - rate)))
    else:
        expected_penalty = 0.3 * np.abs(code).sum(axis=1).mean()
    reconstruction = np.sum((model.reconstruct(x) - x) ** 2) / len(x)
    assert model.loss(x).item() == pytest.approx(reconstruction + expected_penalty)
    _param_gradcheck(model, lambda: model.loss(x))


# ----- tied weights and the stacked autoencoder -----------------------------------------
def test_tied_decoder_holds_the_encoder_weight_itself():
    encoder = Linear(4, 3, rng=np.random.default_rng(0), dtype=np.float64)
    decoder = TiedLinear(encoder)
    assert decoder.weight is encoder.weight
    h = np.random.default_rng(1).random((2, 3))
    encoder.weight.data[...] = np.arange(12.0).reshape(3, 4)  # change it once, in the encoder
    assert np.allclose(decoder(h).data, h @ np.arange(12.0).reshape(3, 4))


def test_tied_stacked_autoencoder_counts_each_shared_weight_once():
    widths = (16, 5, 3)
    tied = StackedAutoencoder(SHAPE, rng=np.random.default_rng(0), hidden=widths[1:], tied=True)
    untied = StackedAutoencoder(SHAPE, rng=np.random.default_rng(0), hidden=widths[1:])
    weights = sum(a * b for a, b in zip(widths, widths[1:]))
    biases = sum(widths[1:]) + sum(widths[:-1])
    assert tied.num_parameters() == weights + biases
    assert untied.num_parameters() == 2 * weights + biases
    assert len([k for k in tied.state_dict() if k.endswith("weight")]) == 2
    for encoder, decoder in zip(tied.encoders, tied.decoders):
        assert decoder.weight is encoder.weight


@pytest.mark.parametrize("tied", [False, True])
def test_stacked_losses_gradients_match_finite_differences(tied):
    model = StackedAutoencoder(SHAPE, rng=np.random.default_rng(0), hidden=(3, 2), tied=tied)
    x = _batch(n=2).astype(np.float64)
    _param_gradcheck(model, lambda: model.finetune_loss(x))
    # a greedy stage sees the layers below as constants: check its own parameters only
    stage_params = [*model.encoders[1].parameters(), *model.decoders[1].parameters()]
    _param_gradcheck(model, lambda: model.stage_loss(x, 1), stage_params)


def test_first_greedy_stage_is_a_one_layer_autoencoder_of_the_pixels():
    model = StackedAutoencoder(SHAPE, rng=np.random.default_rng(0), hidden=(3, 2), tied=True)
    x = _batch()
    flat = x.reshape(len(x), -1)
    weight, bias = model.encoders[0].weight.data, model.encoders[0].bias.data
    hidden = _sigmoid(flat @ weight.T + bias)
    reconstruction = _sigmoid(hidden @ weight + model.decoders[0].bias.data)  # tied: Wᵀ
    expected = np.sum((reconstruction - flat) ** 2) / len(x)
    assert model.stage_loss(x, 0).item() == pytest.approx(expected, rel=1e-5)


def test_schedule_pretrains_each_stage_then_fine_tunes_touching_only_that_stage():
    model = StackedAutoencoder(SHAPE, rng=np.random.default_rng(0), hidden=(3, 2),
                               pretrain_steps=(2, 3))
    model.build_optimizers(1e-2)
    x, rng = _batch(), np.random.default_rng(0)
    stages = []
    for _ in range(7):
        before = {k: v.copy() for k, v in model.state_dict().items()}
        stage = int(model.train_step(x, rng)["stage"])
        stages.append(stage)
        changed = {k for k, v in model.state_dict().items()
                   if k != "steps_done" and not np.array_equal(v, before[k])}
        if stage < 2:
            assert changed == {f"encoders.{stage}.weight", f"encoders.{stage}.bias",
                               f"decoders.{stage}.weight", f"decoders.{stage}.bias"}
        else:
            assert len(changed) == 8
    assert stages == [0, 0, 1, 1, 1, 2, 2]


def test_stacked_autoencoder_refuses_to_sample():
    model = StackedAutoencoder(SHAPE, rng=np.random.default_rng(0), hidden=(3,))
    with pytest.raises(NotImplementedError, match="not a generative model"):
        model.sample(2, np.random.default_rng(0))
