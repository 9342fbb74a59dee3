"""Causality and receptive fields of the autoregressive image models, through autograd.

For every pixel (i, j), the support of ∂l_ij/∂x (computed by autograd) must lie strictly
before (i, j) in raster order. The expected support is computed here independently of
the models' code: by propagating each layer's kernel offsets (reachability), or from the
closed-form regions derived by hand in the model docstrings.
"""

import numpy as np
import pytest

import autograd as ag
from minigen.models.autoregressive.diagonal_bilstm import DiagonalBiLSTM
from minigen.models.autoregressive.gated_pixelcnn import GatedPixelCNN
from minigen.models.autoregressive.pixelcnn import PixelCNN
from minigen.models.autoregressive.row_lstm import RowLSTM
from minigen.nn.masked_conv import influence_map
from tests.models.autoregressive.helpers import IMAGE_MODELS, perturb, small_model


def measured_field(model, height, width):
    """field[i, j] = bool (H, W) support of ∂l_ij/∂x, from autograd: one forward pass at
    4 random inputs (a tap can vanish at one point, hardly at all four), one backward pass
    per pixel (what ``influence_map`` computes pixel by pixel, without H·W forward passes)."""
    dtype = model.parameters()[0].dtype
    x = ag.Tensor(np.random.default_rng(0).random((4, 1, height, width)).astype(dtype),
                  requires_grad=True)
    logits = model.logits(x)
    field = np.zeros((height, width, height, width), bool)
    for i in range(height):
        for j in range(width):
            (jacobian_row,) = ag.grad(logits[:, 0, i, j].sum(), [x], retain_graph=True,
                                      allow_unused=True)
            field[i, j] = np.any(jacobian_row.data[:, 0] != 0, axis=0)
    return field


def raster_past(height, width):
    """past[i, j, a, b] = (a, b) comes strictly before (i, j) in raster order."""
    index = np.arange(height * width).reshape(height, width)
    return index[None, None, :, :] < index[:, :, None, None]


def identity_field(height, width):
    return np.eye(height * width, dtype=bool).reshape(height, width, height, width)


def mask_offsets(kernel, kind):
    """Offsets (di, dj) a type-A/B k×k masked kernel reads, written from the definition."""
    reach = kernel // 2
    taps = [(di, dj) for di in range(-reach, reach + 1) for dj in range(-reach, reach + 1)]
    return [(di, dj) for di, dj in taps
            if di < 0 or (di == 0 and dj < 0) or (kind == "B" and di == dj == 0)]


def through(field, offsets):
    """Reachability through a zero-padded convolution reading ``offsets``."""
    height, width = field.shape[:2]
    out = np.zeros_like(field)
    for i in range(height):
        for j in range(width):
            for di, dj in offsets:
                if 0 <= i + di < height and 0 <= j + dj < width:
                    out[i, j] |= field[i + di, j + dj]
    return out


TWO_LAYERS = {  # so the connections between layers are checked as well
    "pixelcnn": {"num_blocks": 2},
    "gated_pixelcnn": {"num_layers": 2},
    "row_lstm": {"num_layers": 2},
    "diagonal_bilstm": {"num_layers": 2},
}


@pytest.mark.parametrize("name", IMAGE_MODELS)
@pytest.mark.parametrize("shape", [(5, 5), (4, 6)])
def test_no_logit_depends_on_its_own_pixel_or_a_later_one(name, shape):
    model = small_model(name, (1, *shape), seed=1, dtype=np.float32, channels=8,
                        **TWO_LAYERS[name])
    rng = np.random.default_rng(1)
    for _ in range(2):  # the initial weights, then weights moved far from them
        field = measured_field(model, *shape)
        assert not np.any(field & ~raster_past(*shape))
        assert np.any(field)
        perturb(model, rng, noise=2.0)


@pytest.mark.parametrize("first_kernel,kernel_size,num_blocks", [(3, 3, 2), (5, 3, 1)])
def test_pixelcnn_field_is_the_blind_spot_pattern(first_kernel, kernel_size, num_blocks):
    height, width = 6, 7
    model = PixelCNN((1, height, width), rng=np.random.default_rng(2), channels=8,
                     first_kernel=first_kernel, kernel_size=kernel_size, num_blocks=num_blocks)
    expected = through(identity_field(height, width), mask_offsets(first_kernel, "A"))
    for _ in range(num_blocks):  # h + conv_B(h)
        expected = expected | through(expected, mask_offsets(kernel_size, "B"))
    np.testing.assert_array_equal(measured_field(model, height, width), expected)


def test_pixelcnn_misses_earlier_pixels_up_and_to_the_right():
    model = PixelCNN((1, 7, 7), rng=np.random.default_rng(3), channels=8, first_kernel=3,
                     kernel_size=3, num_blocks=3)
    i, j = 5, 3
    field = influence_map(model, i, j, (7, 7))
    # d rows up, the view to the right reaches only column j + d ...
    for d in (1, 2, 3):
        assert field[i - d, : j + d + 1].all() and not field[i - d, j + d + 1:].any()
    # ... while the rows further up are seen in full: the missed pixels are a hole
    # inside the field, the blind spot, although they all precede (i, j)
    assert field[i - 4].all()


def gated_region(height, width, reach):
    """(i − r, j + c) for 1 ≤ r ≤ R + 1, |c| ≤ R, and (i, j − c) for 1 ≤ c ≤ R."""
    region = np.zeros((height, width, height, width), bool)
    for i in range(height):
        for j in range(width):
            region[i, j, max(i - reach - 1, 0):i, max(j - reach, 0):j + reach + 1] = True
            region[i, j, i, max(j - reach, 0):j] = True
    return region


@pytest.mark.parametrize("first_kernel,kernel_size,num_layers", [(3, 3, 2), (5, 3, 1),
                                                                 (3, 5, 2)])
def test_gated_pixelcnn_sees_every_earlier_pixel_within_reach(first_kernel, kernel_size,
                                                              num_layers):
    height, width = 7, 8
    model = GatedPixelCNN((1, height, width), rng=np.random.default_rng(4), channels=8,
                          first_kernel=first_kernel, kernel_size=kernel_size,
                          num_layers=num_layers)
    reach = first_kernel // 2 + (num_layers - 1) * (kernel_size // 2)
    expected = gated_region(height, width, reach)
    np.testing.assert_array_equal(measured_field(model, height, width), expected)


def test_deep_gated_pixelcnn_sees_the_whole_past_with_no_blind_spot():
    model = GatedPixelCNN((1, 5, 5), rng=np.random.default_rng(5), channels=8,
                          first_kernel=3, kernel_size=3, num_layers=4)
    np.testing.assert_array_equal(measured_field(model, 5, 5), raster_past(5, 5))


def row_lstm_reach(height, width, first_kernel, kernel_size, num_layers):
    """u = conv_A(x); per layer h_r = conv_is(u)_r ∪ h_{r−1} at j − 1 … j + 1; u ← u ∪ h."""
    u = through(identity_field(height, width), mask_offsets(first_kernel, "A"))
    reach = kernel_size // 2
    for _ in range(num_layers):
        from_input = through(u, [(0, dj) for dj in range(-reach, 1)])
        hidden = from_input.copy()
        for r in range(1, height):
            hidden[r] |= through(hidden[r - 1:r], [(0, -1), (0, 0), (0, 1)])[0]
        u = u | hidden
    return u


@pytest.mark.parametrize("first_kernel,kernel_size,num_layers", [(3, 3, 1), (3, 3, 2),
                                                                 (5, 3, 1), (3, 5, 1)])
def test_row_lstm_field_is_the_triangle_of_its_recurrence(first_kernel, kernel_size,
                                                          num_layers):
    height, width = 6, 7
    model = RowLSTM((1, height, width), rng=np.random.default_rng(6), channels=8,
                    first_kernel=first_kernel, kernel_size=kernel_size, num_layers=num_layers)
    expected = row_lstm_reach(height, width, first_kernel, kernel_size, num_layers)
    np.testing.assert_array_equal(measured_field(model, height, width), expected)


def test_row_lstm_field_widens_by_one_column_each_side_per_row_up():
    height, width, i, j = 6, 13, 5, 6
    model = RowLSTM((1, height, width), rng=np.random.default_rng(7), channels=8,
                    first_kernel=3, kernel_size=3, num_layers=1)
    field = influence_map(model, i, j, (height, width))
    for d in range(1, height):
        seen = np.flatnonzero(field[i - d])
        # a contiguous interval: j − d − 2 … j + d (first layer reach 1, the 1×3 input
        # kernel one more to the left, the 1×3 state kernel one per row)
        np.testing.assert_array_equal(seen, np.arange(max(j - d - 2, 0), j + d + 1))
    np.testing.assert_array_equal(np.flatnonzero(field[i]), [j - 2, j - 1])


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("shape", [(5, 5), (4, 6), (6, 3)])
def test_diagonal_bilstm_sees_the_whole_past_after_one_layer(num_layers, shape):
    model = DiagonalBiLSTM((1, *shape), rng=np.random.default_rng(8), channels=8,
                           first_kernel=3, num_layers=num_layers)
    np.testing.assert_array_equal(measured_field(model, *shape), raster_past(*shape))
