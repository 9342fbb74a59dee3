"""Vector quantisation (minigen.nn.quantize): nearest code, straight-through gradient,
codebook/commitment losses, perplexity and usage, EMA codebook updates."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import Linear
from minigen.nn.quantize import (
    EMAVectorQuantizer,
    VectorQuantizer,
    code_perplexity,
    code_usage,
    ema_codebook_update,
    nearest_code,
    straight_through,
)

seeds = st.integers(0, 2**31)


@given(st.integers(1, 9), st.integers(1, 5), st.integers(1, 12), seeds)
def test_nearest_code_matches_brute_force(num_codes, dim, num_vectors, seed):
    rng = np.random.default_rng(seed)
    codebook = rng.standard_normal((num_codes, dim))
    z = rng.standard_normal((num_vectors, dim))
    chosen = nearest_code(z, codebook)
    for vector, k in zip(z, chosen):
        distances = [np.sum((vector - code) ** 2) for code in codebook]
        assert distances[k] <= min(distances) + 1e-12


def test_nearest_code_keeps_leading_shape_and_checks_dimensions():
    rng = np.random.default_rng(0)
    assert nearest_code(rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((7, 5))).shape \
        == (2, 3, 4)
    with pytest.raises(ValueError, match="same D"):
        nearest_code(np.zeros((3, 4)), np.zeros((5, 2)))


@given(st.integers(2, 6), st.integers(1, 4), seeds)
def test_gradient_reaching_encoder_equals_gradient_at_quantised_output(num_codes, dim, seed):
    rng = np.random.default_rng(seed)
    encoder = Linear(3, dim, rng=rng).astype(np.float64)
    quantizer = VectorQuantizer(num_codes, dim, rng=rng).astype(np.float64)
    x = rng.standard_normal((5, 3))
    weights = ag.Tensor(rng.standard_normal((5, dim)))

    def decoder_loss(z):  # any downstream function of the quantised codes
        return (ag.tanh(z) * weights).sum()

    z_e = encoder(x)
    out = quantizer(z_e)
    np.testing.assert_allclose(out.quantized.data, quantizer.codebook[out.indices], atol=1e-12)
    (grad_at_encoder,) = ag.grad(decoder_loss(out.quantized), [z_e], retain_graph=True)
    z_q = ag.Tensor(quantizer.codebook[out.indices], requires_grad=True)
    (grad_at_quantised,) = ag.grad(decoder_loss(z_q), [z_q])
    np.testing.assert_allclose(grad_at_encoder.data, grad_at_quantised.data, rtol=1e-12)
    # …and it flows on into the encoder's weights: dL/dW = gᵀ x
    decoder_loss(out.quantized).backward()
    np.testing.assert_allclose(encoder.weight.grad, grad_at_quantised.data.T @ x, rtol=1e-10)
    assert quantizer.weight.grad is None  # the decoder's gradient never reaches the codebook


def test_straight_through_checks_shapes():
    with pytest.raises(ValueError, match="must match"):
        straight_through(ag.Tensor(np.zeros((2, 3))), np.zeros((3, 2)))


@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 8), seeds)
def test_codebook_and_commitment_losses_equal_their_formulas(num_codes, dim, num_vectors, seed):
    rng = np.random.default_rng(seed)
    quantizer = VectorQuantizer(num_codes, dim, rng=rng).astype(np.float64)
    quantizer.weight.data = rng.standard_normal((num_codes, dim))
    z_e = ag.Tensor(rng.standard_normal((num_vectors, dim)), requires_grad=True)
    out = quantizer(z_e)
    codes = quantizer.codebook[out.indices]
    squared = np.sum((z_e.data - codes) ** 2, axis=-1)  # ‖z_e − e_{k*}‖²
    np.testing.assert_allclose(out.codebook_loss.data, squared, rtol=1e-12)
    np.testing.assert_allclose(out.commitment_loss.data, squared, rtol=1e-12)
    # codebook loss ‖sg(z_e) − e‖²: gradient 2(e − z_e) to the chosen codes, none to z_e
    g_z, g_w = ag.grad(out.codebook_loss.sum(), [z_e, quantizer.weight], allow_unused=True)
    expected_w = np.zeros((num_codes, dim))
    np.add.at(expected_w, out.indices, 2 * (codes - z_e.data))
    np.testing.assert_allclose(g_w.data, expected_w, rtol=1e-10, atol=1e-12)
    assert np.all(g_z.data == 0)
    # commitment loss ‖z_e − sg(e)‖²: gradient 2(z_e − e) to z_e, none to the codebook
    g_z, g_w = ag.grad(out.commitment_loss.sum(), [z_e, quantizer.weight], allow_unused=True)
    np.testing.assert_allclose(g_z.data, 2 * (z_e.data - codes), rtol=1e-10, atol=1e-12)
    assert np.all(g_w.data == 0)


def test_codebook_loss_gradcheck():
    rng = np.random.default_rng(3)
    quantizer = VectorQuantizer(4, 2, rng=rng).astype(np.float64)
    quantizer.weight.data = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]])
    z = rng.normal(0.0, 0.3, (6, 2)) + quantizer.codebook[rng.integers(0, 4, 6)]
    weight = quantizer.weight
    assert ag.gradcheck(lambda w: (((ag.Tensor(z) - w[nearest_code(z, w.data)]) ** 2).sum()),
                        [weight], order=2)


@given(st.integers(1, 50), st.integers(1, 5))
def test_perplexity_of_uniform_assignment_is_num_codes(num_codes, repeats):
    indices = np.tile(np.arange(num_codes), repeats)
    assert code_perplexity(indices, num_codes) == pytest.approx(num_codes, rel=1e-12)
    assert code_usage(indices, num_codes) == 1.0


@given(st.integers(1, 50), st.integers(1, 20), st.data())
def test_perplexity_of_a_single_code_is_one(num_codes, count, data):
    code = data.draw(st.integers(0, num_codes - 1))
    indices = np.full(count, code)
    assert code_perplexity(indices, num_codes) == pytest.approx(1.0, abs=1e-12)
    assert code_usage(indices, num_codes) == pytest.approx(1 / num_codes)


def test_perplexity_of_two_codes_three_to_one_is_exp_entropy():
    # p̄ = (3/4, 1/4): H = −(3/4 log 3/4 + 1/4 log 1/4)
    entropy = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    assert code_perplexity([0, 0, 0, 2], 4) == pytest.approx(np.exp(entropy), rel=1e-12)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        code_perplexity([0, 4], 4)


def test_ema_update_on_a_hand_computed_example():
    # codes e = (0, 1) on the line; N = (1, 1), m = (0, 1); z = 0.2, 0.4 → code 0, 3.0 → code 1
    cluster_size, embed_sum = np.array([1.0, 1.0]), np.array([[0.0], [1.0]])
    z, indices = np.array([[0.2], [0.4], [3.0]]), np.array([0, 0, 1])
    # γ = 0.5, no smoothing: N = (0.5 + 1, 0.5 + 0.5), m = (0 + 0.3, 0.5 + 1.5), e = m / N
    size, total, codebook = ema_codebook_update(cluster_size, embed_sum, z, indices, 0.5, 0.0)
    np.testing.assert_allclose(size, [1.5, 1.0])
    np.testing.assert_allclose(total, [[0.3], [2.0]])
    np.testing.assert_allclose(codebook, [[0.2], [2.0]])
    # ε = 0.1: Ñ = (N + 0.1) / (2.5 + 0.2) · 2.5 = (1.6, 1.1) · 2.5 / 2.7
    _, _, codebook = ema_codebook_update(cluster_size, embed_sum, z, indices, 0.5, 0.1)
    np.testing.assert_allclose(codebook, [[0.3 * 2.7 / 4.0], [2.0 * 2.7 / 2.75]], rtol=1e-12)


def test_ema_quantizer_moves_codes_in_training_mode_only():
    rng = np.random.default_rng(0)
    quantizer = EMAVectorQuantizer(2, 1, rng=rng, decay=0.5, eps=0.0).astype(np.float64)
    quantizer.weight = np.array([[0.0], [1.0]])
    quantizer.embed_sum = np.array([[0.0], [1.0]])
    z = np.array([[0.2], [0.4], [3.0]])
    quantizer.eval()
    quantizer(z)
    np.testing.assert_array_equal(quantizer.codebook, [[0.0], [1.0]])
    quantizer.train()
    out = quantizer(z)
    np.testing.assert_allclose(out.quantized.data, [[0.0], [0.0], [1.0]])  # old codes
    np.testing.assert_allclose(quantizer.codebook, [[0.2], [2.0]])  # then the update
    assert quantizer.parameters() == []
    assert set(quantizer.state_dict()) == {"weight", "cluster_size", "embed_sum"}


def test_quantizer_names_the_expected_shape():
    quantizer = VectorQuantizer(4, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        quantizer(np.zeros((2, 5)))


@pytest.mark.parametrize("ema", [False, True])
def test_initialise_from_puts_every_code_on_a_given_vector(ema):
    rng = np.random.default_rng(0)
    quantizer = (EMAVectorQuantizer if ema else VectorQuantizer)(5, 3, rng=rng)
    z = rng.standard_normal((4, 6, 3)).astype(np.float32)
    quantizer.initialise_from(z, rng)
    flat = z.reshape(-1, 3)
    for code in quantizer.codebook:
        assert np.any(np.all(flat == code, axis=1))
    assert len({tuple(code) for code in quantizer.codebook}) == 5  # drawn without replacement
    if ema:  # e = m / N still holds
        np.testing.assert_allclose(quantizer.embed_sum / quantizer.cluster_size[:, None],
                                   quantizer.codebook)
