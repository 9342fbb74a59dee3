"""The layers of ProGAN and StyleGAN (minigen.nn.style): equalised learning rate, pixel-norm,
minibatch stddev, AdaIN, modulated/demodulated convolution, noise inputs and truncation,
against their formulas; float64 gradchecks; torch parity for the equalised layers and AdaIN
(instance norm)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import (
    AdaIN,
    EqualizedConv2d,
    EqualizedLinear,
    ModulatedConv2d,
    NoiseInput,
    adain,
    minibatch_stddev,
    modulated_conv2d,
    pixel_norm,
    truncate,
)
from minigen.optim import Adam

SEEDS = st.integers(0, 2 ** 16)


# ----- equalised learning rate ------------------------------------------------------------
def test_stored_weights_are_standard_normal_and_the_effective_weight_is_c_times_w():
    layer = EqualizedLinear(200, 300, rng=np.random.default_rng(0), dtype=np.float64)
    w = layer.weight.data
    assert abs(w.mean()) < 0.01 and w.std() == pytest.approx(1.0, rel=0.01)  # N(0, 1)
    c = np.sqrt(2 / 200)  # √(gain / fan_in), gain 2
    np.testing.assert_array_equal(layer.effective_weight().data, w * c)
    conv = EqualizedConv2d(8, 4, 3, gain=1.0, rng=np.random.default_rng(0), dtype=np.float64)
    np.testing.assert_allclose(conv.effective_weight().data,
                               conv.weight.data * np.sqrt(1 / (8 * 3 * 3)), rtol=1e-15)


@settings(deadline=None, max_examples=25)
@given(st.integers(1, 6), st.integers(1, 5), st.sampled_from([1.0, 2.0]),
       st.sampled_from([1.0, 0.01, 0.5]), SEEDS)
def test_equalized_linear_gradient_is_c_times_the_effective_weights_gradient(
        fan_in, fan_out, gain, lr_multiplier, seed):
    rng = np.random.default_rng(seed)
    layer = EqualizedLinear(fan_in, fan_out, gain=gain, lr_multiplier=lr_multiplier, rng=rng,
                            dtype=np.float64)
    x, direction = rng.standard_normal((3, fan_in)), rng.standard_normal((3, fan_out))
    (layer(x) * direction).sum().backward()
    # the same loss as a function of the effective weight ŵ itself
    w_eff = ag.Tensor(layer.effective_weight().data, requires_grad=True)
    ((ag.Tensor(x) @ w_eff.T + layer.bias.data * lr_multiplier) * direction).sum().backward()
    c = lr_multiplier * np.sqrt(gain / fan_in)
    np.testing.assert_allclose(layer.weight.grad, c * w_eff.grad, rtol=1e-12, atol=1e-12)


@settings(deadline=None, max_examples=15)
@given(st.integers(1, 3), st.integers(1, 3), st.sampled_from([1, 3]), SEEDS)
def test_equalized_conv_gradient_is_c_times_the_effective_weights_gradient(
        in_channels, out_channels, kernel, seed):
    rng = np.random.default_rng(seed)
    layer = EqualizedConv2d(in_channels, out_channels, kernel, padding=kernel // 2, rng=rng,
                            dtype=np.float64)
    x = rng.standard_normal((2, in_channels, 4, 4))
    direction = rng.standard_normal((2, out_channels, 4, 4))
    (layer(x) * direction).sum().backward()
    w_eff = ag.Tensor(layer.effective_weight().data, requires_grad=True)
    (ag.conv2d(x, w_eff, layer.bias.data, padding=kernel // 2) * direction).sum().backward()
    c = np.sqrt(2 / (in_channels * kernel * kernel))
    np.testing.assert_allclose(layer.weight.grad, c * w_eff.grad, rtol=1e-12, atol=1e-12)


def test_the_lr_multiplier_slows_the_effective_weights_of_an_adam_step_by_mu():
    """Same effective weights, same gradient: one Adam step moves ŵ μ times as far."""
    moves = {}
    for mu in (1.0, 0.01):
        layer = EqualizedLinear(4, 3, lr_multiplier=mu, rng=np.random.default_rng(0),
                                dtype=np.float64)
        before = layer.effective_weight().data.copy()
        optimizer = Adam(layer.parameters(), lr=1e-3)
        (layer(np.ones((2, 4))) * np.arange(3.0)).sum().backward()
        optimizer.step()
        moves[mu] = layer.effective_weight().data - before
        assert np.allclose(before, EqualizedLinear(4, 3, rng=np.random.default_rng(0),
                                                   dtype=np.float64).effective_weight().data)
    moving = np.abs(moves[1.0]) > 0
    np.testing.assert_allclose(moves[0.01][moving], 0.01 * moves[1.0][moving], rtol=1e-6)


def test_equalized_layers_gradcheck_second_order():
    rng = np.random.default_rng(0)
    linear = EqualizedLinear(3, 2, lr_multiplier=0.1, rng=rng, dtype=np.float64)
    linear.bias.data[...] = rng.standard_normal(2)
    x = ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    ag.gradcheck(lambda t, *p: ag.tanh(linear(t)), [x, *linear.parameters()], order=2)
    conv = EqualizedConv2d(2, 2, 3, padding=1, rng=rng, dtype=np.float64)
    conv.bias.data[...] = rng.standard_normal(2)
    image = ag.Tensor(rng.standard_normal((1, 2, 3, 3)), requires_grad=True)
    ag.gradcheck(lambda t, *p: ag.tanh(conv(t)), [image, *conv.parameters()], order=2)


def test_equalized_conv_matches_torch_with_the_scaled_weight():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    conv = EqualizedConv2d(3, 4, 3, padding=1, rng=rng, dtype=np.float64)
    conv.bias.data[...] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 5, 5))
    theirs = torch.nn.functional.conv2d(torch.from_numpy(x),
                                        torch.from_numpy(conv.weight.data) * conv.scale,
                                        torch.from_numpy(conv.bias.data), padding=1)
    np.testing.assert_allclose(conv(x).data, theirs.numpy(), atol=1e-12)


# ----- pixel-norm and the minibatch standard deviation ------------------------------------
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 3), SEEDS)
def test_pixel_norm_gives_unit_mean_square_at_every_pixel(n, channels, side, seed):
    x = np.random.default_rng(seed).standard_normal((n, channels, side, side)) * 3 + 0.5
    y = pixel_norm(x).data
    mean_square = (x ** 2).mean(axis=1)
    np.testing.assert_allclose((y ** 2).mean(axis=1), mean_square / (mean_square + 1e-8),
                               rtol=1e-12)  # 1 up to ε = 1e-8 under the root
    np.testing.assert_allclose((y ** 2).mean(axis=1)[mean_square > 1e-4], 1.0, rtol=1e-4)
    np.testing.assert_allclose(y * np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-8), x,
                               rtol=1e-12, atol=1e-15)  # only the length changes


@given(st.sampled_from([(4, None), (4, 2), (6, 3), (6, 1), (5, None)]), st.integers(1, 3),
       st.integers(1, 3), SEEDS)
def test_minibatch_stddev_equals_its_formula(batch_group, channels, side, seed):
    n, group = batch_group
    x = np.random.default_rng(seed).standard_normal((n, channels, side, side))
    y = minibatch_stddev(x, group).data
    assert y.shape == (n, channels + 1, side, side)
    np.testing.assert_array_equal(y[:, :channels], x)
    size = n if group is None else group
    for start in range(0, n, size):  # s = mean_{c,h,w} √(Var_group + ε), one per group
        members = x[start:start + size]
        expected = np.sqrt(members.var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(y[start:start + size, channels], expected, rtol=1e-10)


def test_minibatch_stddev_refuses_groups_that_do_not_divide_the_batch():
    with pytest.raises(ValueError, match="group_size 4 must divide the batch of 6"):
        minibatch_stddev(np.zeros((6, 2, 2, 2)), 4)


def test_pixel_norm_and_minibatch_stddev_gradcheck_second_order():
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    ag.gradcheck(pixel_norm, [x], order=2)
    batch = ag.Tensor(rng.standard_normal((4, 2, 2, 2)), requires_grad=True)
    ag.gradcheck(minibatch_stddev, [batch], order=2)
    ag.gradcheck(lambda t: minibatch_stddev(t, 2), [batch], order=2)


# ----- AdaIN and the noise input ----------------------------------------------------------
@given(st.integers(1, 3), st.integers(1, 4), st.integers(2, 4), SEEDS)
def test_adain_output_has_the_styles_mean_and_standard_deviation(n, channels, side, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, channels, side, side)) * rng.uniform(0.5, 3) + rng.normal()
    x += np.arange(side * side).reshape(side, side)  # no constant channel: σ(x) > 0
    scale, bias = rng.normal(0, 2, (n, channels)), rng.normal(0, 2, (n, channels))
    y = adain(x, scale, bias).data
    np.testing.assert_allclose(y.mean(axis=(2, 3)), bias, atol=1e-9)
    np.testing.assert_allclose(y.std(axis=(2, 3)), np.abs(scale), rtol=1e-6, atol=1e-9)


def test_adain_gradcheck_and_matches_torch_instance_norm():
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    scale = ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    bias = ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    ag.gradcheck(adain, [x, scale, bias], order=2)
    layer = AdaIN(3, 4, rng=rng, dtype=np.float64)
    w = ag.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    ag.gradcheck(lambda t, v, *p: layer(t, v), [x, w, *layer.parameters()])
    torch = pytest.importorskip("torch")
    normalised = torch.nn.functional.instance_norm(torch.from_numpy(x.data), eps=1e-8)
    expected = (torch.from_numpy(scale.data)[:, :, None, None] * normalised
                + torch.from_numpy(bias.data)[:, :, None, None])
    np.testing.assert_allclose(adain(x, scale, bias).data, expected.numpy(), atol=1e-10)


def test_an_untrained_adain_layer_has_scale_one_plus_its_affine_map():
    layer = AdaIN(2, 3, rng=np.random.default_rng(0), dtype=np.float64)
    w = np.random.default_rng(1).standard_normal((4, 3))
    scale, bias = layer.style(w)
    affine = layer.affine(w).data
    np.testing.assert_allclose(scale.data, 1 + affine[:, :2])
    np.testing.assert_allclose(bias.data, affine[:, 2:])
    assert layer.affine.gain == 1.0


# ----- modulation / demodulation (StyleGAN 2) ----------------------------------------------
def _per_example_kernels(weight, styles, demodulate):
    """w'_oik = s_i·w_oik, then w''_oik = w'_oik / √(Σ_ik w'_oik² + ε): (N, O, I, kh, kw)."""
    modulated = weight[None] * styles[:, None, :, None, None]
    if not demodulate:
        return modulated
    return modulated / np.sqrt((modulated ** 2).sum(axis=(2, 3, 4), keepdims=True) + 1e-8)


@settings(deadline=None, max_examples=25)
@given(st.integers(1, 4), st.integers(1, 3), st.sampled_from([1, 3]), st.booleans(), SEEDS)
def test_modulated_conv_is_a_conv_with_each_examples_own_modulated_kernel(
        in_channels, out_channels, kernel, demodulate, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, in_channels, 4, 4))
    weight = rng.standard_normal((out_channels, in_channels, kernel, kernel))
    styles = rng.normal(0, 2, (3, in_channels))
    out = modulated_conv2d(x, weight, styles, kernel // 2, demodulate).data
    kernels = _per_example_kernels(weight, styles, demodulate)
    for example in range(3):
        expected = ag.conv2d(x[example:example + 1], kernels[example], None, 1, kernel // 2)
        np.testing.assert_allclose(out[example:example + 1], expected.data, rtol=1e-9,
                                   atol=1e-9)


@settings(deadline=None, max_examples=20)
@given(st.integers(1, 6), st.integers(1, 4), st.sampled_from([1, 3]), SEEDS)
def test_demodulation_gives_unit_output_std_for_unit_variance_iid_input(
        in_channels, out_channels, kernel, seed):
    """Var(Σ_ik w''_oik x_ik) = Σ_ik w''_oik² = 1 for x i.i.d. with unit variance, whatever the
    weights' and the style's scale: exactly for the kernel's norm, and empirically."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((out_channels, in_channels, kernel, kernel))
    weight *= rng.uniform(0.1, 10)
    style = rng.normal(0, 3, (1, in_channels))
    energy = (_per_example_kernels(weight, style, False) ** 2).sum(axis=(2, 3, 4))
    kernels = _per_example_kernels(weight, style, True)
    # Σ w''² = Σ w'² / (Σ w'² + ε): 1 but for ε
    np.testing.assert_allclose((kernels ** 2).sum(axis=(2, 3, 4)), energy / (energy + 1e-8),
                               rtol=1e-12)
    samples = 4000  # one output pixel each (no padding): independent draws of the output
    x = rng.standard_normal((samples, in_channels, kernel, kernel))
    out = modulated_conv2d(x, weight, np.repeat(style, samples, axis=0)).data
    assert out.shape == (samples, out_channels, 1, 1)
    np.testing.assert_allclose(out.std(axis=0).ravel(), 1.0, atol=0.1)  # std error ≈ 0.011


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_gradcheck(demodulate):
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    weight = ag.Tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    styles = ag.Tensor(rng.normal(1, 0.5, (2, 3)), requires_grad=True)
    ag.gradcheck(lambda a, b, c: modulated_conv2d(a, b, c, 1, demodulate), [x, weight, styles],
                 order=2)
    layer = ModulatedConv2d(3, 2, 3, 4, demodulate=demodulate, rng=rng, dtype=np.float64)
    w = ag.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    ag.gradcheck(lambda a, v, *p: layer(a, v), [x, w, *layer.parameters()])


def test_an_untrained_modulated_conv_has_styles_one_plus_its_affine_map_and_keeps_size():
    layer = ModulatedConv2d(3, 5, 3, 4, rng=np.random.default_rng(0), dtype=np.float64)
    np.testing.assert_array_equal(layer.affine(np.zeros((1, 4))).data, np.ones((1, 3)))
    assert layer.affine.gain == 1.0 and layer.conv.weight.data.shape == (5, 3, 3, 3)
    assert layer(np.ones((2, 3, 4, 4)), np.ones((2, 4))).shape == (2, 5, 4, 4)
    with pytest.raises(ValueError, match=r"styles \(N, I\)"):
        modulated_conv2d(np.zeros((2, 3, 4, 4)), np.zeros((5, 3, 3, 3)), np.zeros((2, 4)))


def test_noise_input_adds_per_channel_scaled_noise_shared_by_the_channels():
    rng = np.random.default_rng(0)
    layer = NoiseInput(3, dtype=np.float64)
    x, noise = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((2, 1, 4, 4))
    np.testing.assert_array_equal(layer(x, noise).data, x)  # B starts at 0
    layer.weight.data[...] = [0.5, -1.0, 2.0]
    np.testing.assert_allclose(layer(x, noise).data,
                               x + np.array([0.5, -1.0, 2.0])[None, :, None, None] * noise)
    small_x = ag.Tensor(x[:1, :, :2, :2].copy(), requires_grad=True)
    small_noise = ag.Tensor(noise[:1, :, :2, :2].copy(), requires_grad=True)
    ag.gradcheck(lambda t, n, b: layer(t, n), [small_x, small_noise, layer.weight], order=2)
    with pytest.raises(ValueError, match=r"noise must have shape \(N, 1, H, W\)"):
        layer(x, noise[:, :, :2])


# ----- truncation -------------------------------------------------------------------------
@given(st.integers(1, 5), st.integers(1, 4), SEEDS)
def test_truncation_is_the_identity_at_one_and_the_mean_at_zero(n, dim, seed):
    rng = np.random.default_rng(seed)
    w, w_average = rng.standard_normal((n, dim)), rng.standard_normal(dim)
    np.testing.assert_array_equal(truncate(w, w_average, 1.0), w)
    np.testing.assert_array_equal(truncate(w, w_average, 0.0), np.broadcast_to(w_average, w.shape))
    psi = rng.uniform()
    np.testing.assert_allclose(truncate(w, w_average, psi) - w_average, psi * (w - w_average))


def test_truncation_gradcheck():
    rng = np.random.default_rng(0)
    w = ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    mean = ag.Tensor(rng.standard_normal(3), requires_grad=True)
    ag.gradcheck(lambda a, b: truncate(a, b, 0.7), [w, mean], order=2)


def test_equalized_layers_name_bad_arguments():
    with pytest.raises(ValueError, match=r"input has shape \(2, 5\), expected last dimension 4"):
        EqualizedLinear(4, 2, rng=np.random.default_rng(0))(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="lr_multiplier must be > 0"):
        EqualizedLinear(4, 2, lr_multiplier=0.0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        EqualizedConv2d(1, 1, 1, rng=0)
    with pytest.raises(ValueError, match=r"scale, bias \(N, C\)"):
        adain(np.zeros((2, 3, 2, 2)), np.zeros((2, 2)), np.zeros((2, 3)))
