"""PatchGAN and the translation U-Net: the receptive field r ← (r − 1)·s + k and the grid
size match what autograd measures for every layer count; gradients; torch parity."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import Conv2d, ConvTranspose2d
from minigen.nn.patchgan import PatchGAN, output_size, receptive_field
from minigen.nn.unet_generator import UNetGenerator


def _support_side(gradient: np.ndarray) -> int:
    """The side of the square of input pixels with a nonzero gradient, (H, W) -> int."""
    rows = np.flatnonzero(np.abs(gradient).sum(axis=1))
    cols = np.flatnonzero(np.abs(gradient).sum(axis=0))
    assert rows[-1] - rows[0] == cols[-1] - cols[0]
    return int(rows[-1] - rows[0] + 1)


def _measured_field(forward, size: int, channels: int = 1) -> tuple[int, tuple[int, ...]]:
    """The support of the centre output unit's input gradient, and the output's shape."""
    x = ag.Tensor(np.zeros((1, channels, size, size)), requires_grad=True)
    out = forward(x)
    h, w = out.shape[2] // 2, out.shape[3] // 2
    out[0, 0, h, w].backward()
    return _support_side(x.grad[0].sum(axis=0)), tuple(out.shape)


layers = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2))
                  .filter(lambda ksp: ksp[0] >= ksp[1] and ksp[2] < ksp[0]),
                  min_size=1, max_size=4)


@given(layers)
def test_receptive_field_and_grid_match_autograd_for_any_conv_stack(stack):
    kernels, strides, paddings = (list(column) for column in zip(*stack))
    field = receptive_field(kernels, strides)
    size = 3 * field + 8  # the centre unit's window lies inside the input
    ones = [np.ones((1, 1, k, k)) for k in kernels]  # positive weights: no cancellation

    def forward(x):
        for weight, stride, padding in zip(ones, strides, paddings):
            x = ag.conv2d(x, weight, None, stride, padding)
        return x

    measured, shape = _measured_field(forward, size)
    assert measured == field
    assert shape[2:] == (output_size(size, kernels, strides, paddings),) * 2


def _positive(model):
    """Every weight a small positive constant, biases 0, float64 (no cancellation)."""
    for name, parameter in model.named_parameters():
        parameter.data = np.full(parameter.shape, 0.0 if name.endswith("bias") else 0.1)
    return model


@given(st.integers(0, 4), st.integers(1, 3))
def test_patchgan_grid_and_receptive_field_for_every_layer_count(num_layers, scale):
    model = PatchGAN(2, 2, num_layers, rng=np.random.default_rng(0))
    # num_layers k4 s2 convs then a 1×1 head: r = 1 -> 1 -> 4 -> 10 -> 22, r = 3·2^n − 2
    assert model.receptive_field == 3 * 2 ** num_layers - 2
    step = 2 ** num_layers  # the input side: a multiple of 2^n, twice the patch or more
    size = step * (-(-2 * model.receptive_field // step) + scale)
    measured, shape = _measured_field(_positive(model), size, channels=2)
    assert shape == (1, 1, size // step, size // step)
    assert model.grid_size(size) == size // step
    assert measured == model.receptive_field


def test_the_papers_70_by_70_patchgan():
    # C64-C128-C256 with k4 s2, then C512 and the logit layer with k4 s1 (Isola et al. §6.1.2)
    kernels, strides = [4, 4, 4, 4, 4], [2, 2, 2, 1, 1]
    fields = [receptive_field(kernels[i:], strides[i:]) for i in reversed(range(5))]
    assert fields == [4, 7, 16, 34, 70]
    with pytest.raises(ValueError, match="one of each per layer"):
        receptive_field([4, 4], [2])


def test_default_patchgan_on_digits_is_a_4x4_grid_of_4x4_patches():
    model = PatchGAN(2, 8, rng=np.random.default_rng(0))
    assert model(np.zeros((3, 2, 8, 8), np.float32)).shape == (3, 1, 4, 4)
    assert model.receptive_field == 4 and model.grid_size(8) == 4


def _float64(module):
    for parameter in module.parameters():
        parameter.data = parameter.data.astype(np.float64)
    return module


def test_patchgan_and_unet_gradcheck_in_float64():
    rng = np.random.default_rng(0)
    patchgan = _float64(PatchGAN(2, 3, 1, rng=rng))
    x = ag.Tensor(rng.standard_normal((2, 2, 4, 4)), requires_grad=True)
    ag.gradcheck(lambda t, *p: patchgan(t), [x, *patchgan.parameters()])
    unet = _float64(UNetGenerator(1, 1, 2, dropout=0.0, rng=rng))
    x = ag.Tensor(rng.standard_normal((2, 1, 4, 4)), requires_grad=True)
    ag.gradcheck(lambda t, *p: unet(t), [x, *unet.parameters()])


def test_unet_dropout_draws_in_training_only_and_the_skip_reaches_the_output():
    rng = np.random.default_rng(0)
    unet = UNetGenerator(1, 1, 4, dropout=0.5, rng=rng)
    x = rng.uniform(-1, 1, (3, 1, 8, 8)).astype(np.float32)
    first = unet(x, np.random.default_rng(1)).data
    assert first.shape == (3, 1, 8, 8) and np.abs(first).max() <= 1
    assert not np.array_equal(first, unet(x, np.random.default_rng(2)).data)  # noise
    unet.eval()
    np.testing.assert_array_equal(unet(x).data, unet(x).data)  # deterministic
    # the decoder's last layer reads [d₁, e₁]: its input has 2C channels, half from the skip
    assert unet.up2.in_channels == 2 * unet.up1.out_channels
    with pytest.raises(ValueError, match="multiples of 4"):
        unet(np.zeros((1, 1, 6, 6), np.float32))


def test_patchgan_and_unet_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 2, 8, 8)).astype(np.float32)
    ours = PatchGAN(2, 4, 2, rng=rng)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 4, 2, 1), torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(4, 8, 4, 2, 1), torch.nn.LeakyReLU(0.2), torch.nn.Conv2d(8, 1, 1))
    convs = [m for _, m in ours.named_modules() if isinstance(m, Conv2d)]
    with torch.no_grad():
        for mine, layer in zip(convs, [theirs[0], theirs[2], theirs[4]]):
            layer.weight.copy_(torch.tensor(mine.weight.data))
            layer.bias.copy_(torch.tensor(mine.bias.data))
        expected = theirs(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-5, atol=1e-6)

    unet = UNetGenerator(2, 1, 3, rng=rng).eval()
    f = torch.nn.functional
    t = {name: torch.tensor(p.data) for name, p in unet.named_parameters()}
    with torch.no_grad():
        e1 = f.leaky_relu(f.conv2d(torch.tensor(x), t["down1.weight"], t["down1.bias"], 2, 1),
                          0.2)
        e2 = f.leaky_relu(f.conv2d(e1, t["down2.weight"], t["down2.bias"], 2, 1), 0.2)
        d1 = f.relu(f.conv_transpose2d(e2, t["up1.weight"], t["up1.bias"], 2, 1))
        y = torch.tanh(f.conv_transpose2d(torch.cat([d1, e1], 1), t["up2.weight"],
                                          t["up2.bias"], 2, 1))
    np.testing.assert_allclose(unet(x).data, y.numpy(), rtol=1e-5, atol=1e-6)
    assert isinstance(unet.up1, ConvTranspose2d)
