"""PixelRNN Row LSTM: the LSTM update, one recurrent step per row, the layer's gradient.

Normalisation, sampling, completion, loss and gradcheck of the whole model are checked
with every autoregressive model in test_explicit_density_properties.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.models.autoregressive.row_lstm import RowLSTMLayer
from tests.models.autoregressive.helpers import small_model


def _numpy_lstm(gates, cell):
    i, f, g, o = np.split(gates, 4, axis=1)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    new_cell = sigmoid(f) * cell + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(new_cell), new_cell


@given(st.integers(1, 3), st.integers(0, 10**6))
def test_row_lstm_cell_follows_the_gate_equations_on_channels(channels, seed):
    rng = np.random.default_rng(seed)
    gates, cell = rng.normal(0, 2, (2, 4 * channels, 1, 3)), rng.normal(0, 1, (2, channels, 1, 3))
    hidden, new_cell = ag.lstm_cell(ag.Tensor(gates), ag.Tensor(cell), axis=1)
    expected_hidden, expected_cell = _numpy_lstm(gates, cell)
    np.testing.assert_allclose(hidden.data, expected_hidden, rtol=1e-12)
    np.testing.assert_allclose(new_cell.data, expected_cell, rtol=1e-12)


def test_row_lstm_cell_matches_torch_lstm_cell():
    torch = pytest.importorskip("torch")
    cell_module = torch.nn.LSTMCell(3, 2).double()
    rng = np.random.default_rng(0)
    x, h, c = rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    with torch.no_grad():
        expected_h, expected_c = cell_module(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
        gates = (torch.tensor(x) @ cell_module.weight_ih.T + cell_module.bias_ih
                 + torch.tensor(h) @ cell_module.weight_hh.T + cell_module.bias_hh).numpy()
    hidden, new_cell = ag.lstm_cell(ag.Tensor(gates), ag.Tensor(c), axis=1)
    np.testing.assert_allclose(hidden.data, expected_h.numpy(), rtol=1e-10)
    np.testing.assert_allclose(new_cell.data, expected_c.numpy(), rtol=1e-10)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_each_layer_takes_one_recurrent_step_per_row(monkeypatch, num_layers):
    model = small_model("row_lstm", (1, 5, 3), channels=4, num_layers=num_layers,
                        dtype=np.float32)
    calls = []
    for layer in model.layers:
        original = layer.state_to_state.forward
        monkeypatch.setattr(layer.state_to_state, "forward",
                            lambda h, original=original: calls.append(h.shape) or original(h))
    model.logits(np.zeros((2, 1, 5, 3), np.float32))
    assert len(calls) == 5 * num_layers
    assert all(shape == (2, 4, 1, 3) for shape in calls)  # a whole row per step


def test_row_lstm_layer_gradcheck():
    layer = RowLSTMLayer(2, 3, rng=np.random.default_rng(0)).astype(np.float64)
    u = ag.Tensor(np.random.default_rng(1).normal(size=(1, 2, 3, 3)), requires_grad=True)
    assert ag.gradcheck(lambda x, *params: layer(x), [u, *layer.parameters()])
