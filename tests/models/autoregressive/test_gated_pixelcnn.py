"""Gated PixelCNN: the gate, the two stacks, the parameter count.

Normalisation, sampling, completion, loss and gradcheck are checked with every
autoregressive model in test_explicit_density_properties.py.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.models.autoregressive.gated_pixelcnn import GatedLayer, GatedPixelCNN, gate


@given(st.integers(1, 4), st.integers(0, 10**6))
def test_gate_is_tanh_of_the_first_half_times_sigmoid_of_the_second(channels, seed):
    pre = np.random.default_rng(seed).normal(0, 3, (2, 2 * channels, 3, 3))
    a, b = pre[:, :channels], pre[:, channels:]
    np.testing.assert_allclose(gate(ag.Tensor(pre)).data, np.tanh(a) / (1 + np.exp(-b)),
                               rtol=1e-12)


def test_the_vertical_stack_sees_its_own_row_and_the_horizontal_stack_does_not():
    layer = GatedLayer(1, 4, 3, "A", rng=np.random.default_rng(0)).astype(np.float64)
    x = ag.Tensor(np.random.default_rng(1).random((1, 1, 5, 5)), requires_grad=True)
    v, h = layer(x, x)
    (from_v,) = ag.grad(v[:, :, 2, 2].sum(), [x], retain_graph=True)
    (from_h,) = ag.grad(h[:, :, 2, 2].sum(), [x])
    # the vertical stack reads row i itself, right of j included: not causal on its own ...
    assert from_v.data[0, 0, 2, 3] != 0 and from_v.data[0, 0, 2, 2] != 0
    # ... which is why it reaches the horizontal stack shifted down a row
    seen = from_h.data[0, 0] != 0
    expected = np.zeros((5, 5), bool)
    expected[0:2, 1:4] = True  # rows i − 2, i − 1 (shifted vertical), columns j ± 1
    expected[2, 1] = True  # row i: the left neighbour only (type A)
    np.testing.assert_array_equal(seen, expected)


def test_num_parameters_matches_the_layer_by_layer_count():
    c, k1, k, layers = 5, 5, 3, 3
    model = GatedPixelCNN((1, 8, 8), rng=np.random.default_rng(0), channels=c,
                          first_kernel=k1, kernel_size=k, num_layers=layers)

    def layer(inputs, kernel):
        vertical = inputs * 2 * c * (kernel // 2 + 1) * kernel + 2 * c
        horizontal = inputs * 2 * c * (kernel // 2 + 1) + 2 * c
        return vertical + horizontal + (2 * c * 2 * c + 2 * c) + (c * c + c)

    head = (c * c + c) + (c + 1)
    assert model.num_parameters() == layer(1, k1) + (layers - 1) * layer(c, k) + head
