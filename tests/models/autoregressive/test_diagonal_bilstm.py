"""PixelRNN Diagonal BiLSTM: 2N − 1 steps, the quadrant a diagonal LSTM sees, its gradient.

Normalisation, sampling, completion, loss and gradcheck of the whole model are checked
with every autoregressive model in test_explicit_density_properties.py.
"""

import numpy as np
import pytest

import autograd as ag
from minigen.models.autoregressive.diagonal_bilstm import DiagonalLSTM
from tests.models.autoregressive.helpers import small_model


@pytest.mark.parametrize("height,width", [(3, 3), (4, 4), (5, 5), (3, 6)])
def test_a_diagonal_lstm_takes_one_step_per_diagonal(monkeypatch, height, width):
    lstm = DiagonalLSTM(3, rng=np.random.default_rng(0))
    calls = []
    original = lstm.step
    monkeypatch.setattr(lstm, "step", lambda *a: calls.append(a[0].shape) or original(*a))
    out = lstm(ag.Tensor(np.zeros((2, 3, height, width), np.float32)))
    assert out.shape == (2, 3, height, width)
    assert len(calls) == height + width - 1  # 2N − 1 on an N×N image
    if height == width:
        assert len(calls) == 2 * height - 1
    assert all(shape == (2, 12, height, 1) for shape in calls)  # a whole diagonal per step


def test_a_bidirectional_layer_runs_both_directions_over_all_diagonals(monkeypatch):
    model = small_model("diagonal_bilstm", (1, 4, 4), num_layers=2, dtype=np.float32)
    calls = []
    for layer in model.layers:
        for lstm in (layer.left_to_right, layer.right_to_left):
            original = lstm.step
            monkeypatch.setattr(lstm, "step",
                                lambda *a, original=original: calls.append(1) or original(*a))
    model.logits(np.zeros((1, 1, 4, 4), np.float32))
    assert len(calls) == 2 * 2 * (2 * 4 - 1)


def test_diagonal_lstm_state_sees_exactly_the_quadrant_above_left():
    height, width = 4, 5
    lstm = DiagonalLSTM(3, rng=np.random.default_rng(1)).astype(np.float64)
    u = ag.Tensor(np.random.default_rng(2).normal(size=(2, 3, height, width)),
                  requires_grad=True)
    hidden = lstm(u)
    for i in range(height):
        for j in range(width):
            (jacobian_row,) = ag.grad(hidden[:, :, i, j].sum(), [u], retain_graph=True)
            seen = np.any(jacobian_row.data != 0, axis=(0, 1))
            expected = np.zeros((height, width), bool)
            expected[: i + 1, : j + 1] = True
            np.testing.assert_array_equal(seen, expected)


def test_diagonal_lstm_gradcheck():
    lstm = DiagonalLSTM(2, rng=np.random.default_rng(3)).astype(np.float64)
    u = ag.Tensor(np.random.default_rng(4).normal(size=(1, 2, 3, 2)), requires_grad=True)
    assert ag.gradcheck(lambda x, *params: lstm(x), [u, *lstm.parameters()])
