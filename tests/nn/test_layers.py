"""Linear, Conv2d, ConvTranspose2d, Flatten: gradients, torch parity, initialisation."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import Conv2d, ConvTranspose2d, Flatten, Linear

RNG = np.random.default_rng


def _double(module):
    return module.astype(np.float64)


def _input(rng, shape):
    return ag.Tensor(rng.standard_normal(shape), requires_grad=True)


def test_linear_gradcheck():
    rng = RNG(0)
    layer = _double(Linear(3, 2, rng=rng))
    ag.gradcheck(lambda x, *p: layer(x), [_input(rng, (4, 3)), *layer.parameters()])


def test_linear_without_bias_gradcheck_on_a_3d_input():
    rng = RNG(1)
    layer = _double(Linear(3, 2, bias=False, rng=rng))
    assert layer.bias is None and layer.num_parameters() == 6
    ag.gradcheck(lambda x, *p: layer(x), [_input(rng, (2, 2, 3)), *layer.parameters()])


def test_conv2d_gradcheck_with_stride_padding_and_dilation():
    rng = RNG(2)
    layer = _double(Conv2d(2, 3, 3, stride=2, padding=1, dilation=1, rng=rng))
    ag.gradcheck(lambda x, *p: layer(x), [_input(rng, (2, 2, 5, 5)), *layer.parameters()])


def test_conv_transpose2d_gradcheck_with_output_padding():
    rng = RNG(3)
    layer = _double(ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=rng))
    ag.gradcheck(lambda x, *p: layer(x), [_input(rng, (1, 2, 3, 3)), *layer.parameters()])


def test_flatten_merges_the_requested_axes_and_gradchecks():
    rng = RNG(4)
    x = _input(rng, (2, 3, 2, 2))
    assert Flatten()(x).shape == (2, 12)
    assert Flatten(0, 1)(x).shape == (6, 2, 2)
    ag.gradcheck(lambda t: Flatten()(t), [x])


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2 ** 16))
def test_linear_init_is_uniform_within_one_over_sqrt_fan_in(fan_in, fan_out, seed):
    layer = Linear(fan_in, fan_out, rng=RNG(seed))
    bound = 1 / np.sqrt(fan_in)
    assert np.all(np.abs(layer.weight.data) <= bound)
    assert np.all(np.abs(layer.bias.data) <= bound)
    assert layer.weight.dtype == np.float32


def test_linear_init_spreads_over_the_whole_interval():
    weight = Linear(16, 4096, rng=RNG(0)).weight.data
    bound = 1 / 4
    assert weight.min() < -0.99 * bound and weight.max() > 0.99 * bound
    assert abs(weight.std() - bound / np.sqrt(3)) < 0.01 * bound


def test_same_seed_gives_the_same_layer():
    first, second = Conv2d(2, 3, 3, rng=RNG(7)), Conv2d(2, 3, 3, rng=RNG(7))
    np.testing.assert_array_equal(first.weight.data, second.weight.data)


def test_linear_names_the_shapes_when_the_input_is_wrong():
    layer = Linear(3, 2, rng=RNG(0))
    with pytest.raises(ValueError, match=r"last dimension 4 \(shape \(5, 4\)\), expected 3"):
        layer(np.zeros((5, 4), dtype=np.float32))


# ----- parity with torch --------------------------------------------------------------


def _copy_into(torch, ours, theirs):
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})


def _assert_parity(torch, ours, theirs, x, atol=1e-5):
    _copy_into(torch, ours, theirs)
    ours_x, torch_x = ag.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(ours_x), theirs(torch_x)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=atol)
    direction = np.random.default_rng(0).standard_normal(out.shape).astype(x.dtype)
    (out * direction).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(ours_x.grad, torch_x.grad.numpy(), atol=atol)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=atol, err_msg=name)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.booleans())
def test_linear_matches_torch(in_features, out_features, batch, bias):
    torch = pytest.importorskip("torch")
    ours = Linear(in_features, out_features, bias=bias, rng=RNG(0))
    theirs = torch.nn.Linear(in_features, out_features, bias=bias)
    x = RNG(1).standard_normal((batch, in_features)).astype(np.float32)
    _assert_parity(torch, ours, theirs, x)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),
       st.integers(0, 1), st.integers(4, 6))
def test_conv2d_matches_torch(in_channels, out_channels, kernel, stride, padding, size):
    torch = pytest.importorskip("torch")
    ours = Conv2d(in_channels, out_channels, kernel, stride, padding, rng=RNG(0))
    theirs = torch.nn.Conv2d(in_channels, out_channels, kernel, stride, padding)
    x = RNG(1).standard_normal((2, in_channels, size, size)).astype(np.float32)
    _assert_parity(torch, ours, theirs, x)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),
       st.integers(0, 1), st.integers(0, 1), st.integers(2, 4))
def test_conv_transpose2d_matches_torch(in_channels, out_channels, kernel, stride, padding,
                                        output_padding, size):
    torch = pytest.importorskip("torch")
    output_padding = min(output_padding, stride - 1)
    padding = min(padding, kernel - 1)
    ours = ConvTranspose2d(in_channels, out_channels, kernel, stride, padding, output_padding,
                           rng=RNG(0))
    theirs = torch.nn.ConvTranspose2d(in_channels, out_channels, kernel, stride, padding,
                                      output_padding)
    x = RNG(1).standard_normal((2, in_channels, size, size)).astype(np.float32)
    _assert_parity(torch, ours, theirs, x)


def test_flatten_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG(0).standard_normal((2, 3, 4, 5))
    for start, end in [(1, -1), (0, 2), (2, 3)]:
        expected = torch.nn.Flatten(start, end)(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(Flatten(start, end)(x).data, expected)
