"""VQ-VAE: the loss is reconstruction + codebook + β·commitment, codes are nearest codebook
vectors, the codebook starts on encoder outputs, usage/perplexity figures, and the
PixelCNN prior over code maps (normalised, autoregressive, fitted, sampled from)."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.models.latent.vqvae import VQVAE
from minigen.nn.losses import RECONSTRUCTION_LOSSES
from minigen.nn.quantize import code_perplexity, code_usage
from minigen.optim import Adam

SHAPE = (1, 4, 4)


def _model(seed=0, **kwargs):
    defaults = {"num_embeddings": 6, "embedding_dim": 3, "hidden": 4, "prior_channels": 4,
                "prior_blocks": 1}
    return VQVAE(SHAPE, rng=np.random.default_rng(seed), **{**defaults, **kwargs})


def _images(n, seed):
    return np.random.default_rng(seed).random((n, *SHAPE)).astype(np.float32)


@given(st.floats(0.0, 2.0), st.sampled_from(["bce", "mse"]), st.integers(0, 2**31))
def test_loss_is_reconstruction_plus_codebook_plus_beta_commitment(beta, kind, seed):
    model = _model(seed, beta=beta, loss=kind).eval()
    x = _images(3, seed)
    z_e = model.encoder(x).data.transpose(0, 2, 3, 1)  # (N, h, w, D)
    codebook = model.quantizer.codebook
    distances = ((z_e[..., None, :] - codebook) ** 2).sum(-1)  # brute force over all codes
    chosen = codebook[distances.argmin(-1)]
    squared = ((z_e - chosen) ** 2).sum(axis=(1, 2, 3)).mean()  # Σ_ij ‖z_e − e‖², batch mean
    recon = RECONSTRUCTION_LOSSES[kind](model.decode(chosen), x).data
    expected = recon + squared + beta * squared
    assert model.loss(x).data == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_ema_model_leaves_out_the_codebook_loss_and_has_no_codebook_parameter():
    model = _model(1, ema=True, beta=0.5).eval()
    x = _images(3, 1)
    out = model.quantize(x)
    recon = RECONSTRUCTION_LOSSES["bce"](model.decode(out.quantized), x).data
    commitment = out.commitment_loss.data.sum(axis=(1, 2)).mean()
    assert model.loss(x).data == pytest.approx(recon + 0.5 * commitment, rel=1e-5)
    assert not any(name.startswith("quantizer") for name, _ in model.named_parameters())


def test_loss_gradient_reaches_encoder_decoder_and_codebook():
    model = _model(2).eval()
    model.loss(_images(4, 2)).backward()
    for name, parameter in model.named_parameters():
        if not name.startswith("prior"):
            assert parameter.grad is not None and np.any(parameter.grad != 0), name


def test_codes_are_the_nearest_codebook_vectors_of_the_encoder_outputs():
    model = _model(3)
    x = _images(5, 3)
    z_e = model.encoder(x).data.transpose(0, 2, 3, 1)
    distances = ((z_e[..., None, :] - model.quantizer.codebook) ** 2).sum(-1)
    codes = model.codes(x)
    assert codes.shape == (5, 2, 2)
    np.testing.assert_array_equal(codes, distances.argmin(-1))


def test_first_training_loss_starts_the_codebook_on_encoder_outputs():
    model = _model(4)
    x = _images(8, 4)
    before = model.quantizer.codebook.copy()
    model.loss(x, np.random.default_rng(0))
    np.testing.assert_array_equal(model.quantizer.codebook, before)  # loss has no side effect
    z_e = model.encoder(x).data.transpose(0, 2, 3, 1).reshape(-1, 3)
    model.before_step(x, np.random.default_rng(0))  # the trainer's hook before a step
    for code in model.quantizer.codebook:
        assert np.any(np.all(np.isclose(z_e, code), axis=1))
    assert bool(model.codebook_initialised)
    initialised = model.quantizer.codebook.copy()
    model.before_step(x, np.random.default_rng(1))
    np.testing.assert_array_equal(model.quantizer.codebook, initialised)  # only once


def test_metrics_report_reconstruction_error_usage_and_perplexity():
    model = _model(5)
    x = _images(6, 5)
    figures = model.metrics(x)
    codes = model.codes(x)
    assert figures["code_usage"] == code_usage(codes, 6)
    assert figures["code_perplexity"] == pytest.approx(code_perplexity(codes, 6))
    mse = np.mean((model.reconstruct(x) - x) ** 2)
    assert figures["reconstruction_mse"] == pytest.approx(mse, rel=1e-5)


def test_training_lowers_the_reconstruction_error():
    model = _model(6, hidden=16)
    optimizer = Adam(model.parameters(), lr=3e-3)
    patterns = (_images(2, 6) > 0.5).astype(np.float32)
    x, rng = np.repeat(patterns, 8, axis=0), np.random.default_rng(0)
    before = model.metrics(x)["reconstruction_mse"]
    for _ in range(60):
        optimizer.zero_grad()
        model.loss(x, rng).backward()
        optimizer.step()
    assert model.metrics(x)["reconstruction_mse"] < 0.4 * before


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="divisible"):
        VQVAE((1, 6, 6), rng=np.random.default_rng(0), downsample=2)
    with pytest.raises(ValueError, match=r"\(N, \*\(1, 4, 4\)\)"):
        _model().loss(np.zeros((2, 1, 8, 8)))


# ----- the PixelCNN prior over code maps --------------------------------------------------
@pytest.mark.parametrize("num_codes", [2, 3])
def test_prior_sums_to_one_over_every_code_map(num_codes):
    model = _model(7, num_embeddings=num_codes)
    for parameter in model.prior.parameters():  # far from uniform, so the check is sharp
        parameter.data *= 3
    maps = np.array(list(itertools.product(range(num_codes), repeat=4))).reshape(-1, 2, 2)
    log_p = model.prior_log_prob(maps)
    assert np.exp(log_p).sum() == pytest.approx(1.0, rel=1e-5)
    assert np.std(log_p) > 0.1


def test_prior_logits_at_a_position_ignore_that_code_and_every_later_one():
    model = _model(8)
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 6, (3, 2, 2))
    logits = model.prior.logits(codes).data
    for position in range(4):
        changed = codes.reshape(3, 4).copy()
        changed[:, position:] = rng.integers(0, 6, (3, 4 - position))
        other = model.prior.logits(changed.reshape(3, 2, 2)).data.reshape(3, 4, 6)
        np.testing.assert_allclose(other[:, position], logits.reshape(3, 4, 6)[:, position],
                                   rtol=1e-6)
        if position < 3:  # …while earlier codes do matter
            assert not np.allclose(other[:, 3], logits.reshape(3, 4, 6)[:, 3])


def test_fitted_prior_learns_the_code_maps_and_sample_draws_from_it():
    model = _model(9, prior_channels=8)
    x = np.repeat(_images(1, 9), 16, axis=0)  # every image the same: one code map
    target = model.codes(x[:1])[0]
    result = model.fit_prior(x, np.random.default_rng(0), steps=60, batch_size=16, lr=1e-2)
    assert result["prior_nll"] < 0.2 * result["prior_nll_before"]
    assert result["uniform_nll"] == pytest.approx(4 * np.log(6))
    assert bool(model.prior_fitted) and "prior_nll" in model.metrics(x)
    codes = model.sample_codes(50, np.random.default_rng(1))
    assert np.mean(np.all(codes == target, axis=(1, 2))) > 0.9
    images = model.sample(5, np.random.default_rng(2))
    expected = ag.sigmoid(model.decode_codes(model.sample_codes(5, np.random.default_rng(2))))
    np.testing.assert_allclose(images, expected.data, rtol=1e-6)
    restored = _model(10, prior_channels=8)
    restored.load_state_dict(model.state_dict())
    assert bool(restored.prior_fitted)


def test_unfitted_model_samples_every_code_uniformly():
    model = _model(11)
    codes = model.sample_codes(3000, np.random.default_rng(0))
    frequencies = np.bincount(codes.ravel(), minlength=6) / codes.size
    np.testing.assert_allclose(frequencies, 1 / 6, atol=0.01)
    assert "prior_nll" not in model.metrics(_images(2, 0))
