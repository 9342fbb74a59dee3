"""PixelRNN Row LSTM: exact normalisation, sampling that matches the density, the recurrence."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import autograd as ag
from minigen.models.autoregressive.row_lstm import RowLSTM, RowLSTMLayer, lstm_update


def make_model(height, width, seed=0, **hparams):
    hparams = {"channels": 4, "first_kernel": 3, "num_layers": 1, **hparams}
    model = RowLSTM((1, height, width), rng=np.random.default_rng(seed), **hparams)
    rng = np.random.default_rng(seed + 100)
    for parameter in model.parameters():  # move away from the small initial weights
        parameter.data = parameter.data + rng.normal(0, 0.7, parameter.shape).astype(np.float32)
    return model


def all_binary_images(height, width):
    codes = np.arange(2 ** (height * width))[:, None] >> np.arange(height * width)
    return (codes & 1).reshape(-1, 1, height, width).astype(np.float64)


def test_log_prob_sums_to_one_over_all_3x3_images():
    model = make_model(3, 3).astype(np.float64)
    log_probs = model.log_prob(all_binary_images(3, 3))
    assert log_probs.shape == (512,)
    np.testing.assert_allclose(np.exp(log_probs).sum(), 1.0, atol=1e-6)


def test_sample_frequencies_match_the_density_on_2x2_images():
    model = make_model(2, 2, seed=1)
    images = all_binary_images(2, 2)
    probabilities = np.exp(model.astype(np.float64).log_prob(images))
    samples = model.sample(20_000, np.random.default_rng(2))
    assert set(np.unique(samples)) <= {0.0, 1.0}
    codes = (samples.reshape(-1, 4) * 2 ** np.arange(4)).sum(axis=1).astype(int)
    counts = np.bincount(codes, minlength=16)
    _, p_value = stats.chisquare(counts, probabilities * counts.sum())
    assert p_value > 1e-3
    _, p_uniform = stats.chisquare(counts)  # the test has power: the model is far from uniform
    assert p_uniform < 1e-6


def test_loss_is_the_mean_negative_log_prob():
    model = make_model(4, 5)
    x = (np.random.default_rng(3).random((6, 1, 4, 5)) < 0.5).astype(np.float32)
    np.testing.assert_allclose(model.loss(x).item(), -model.log_prob(x).mean(), rtol=1e-5)


def test_complete_keeps_the_top_half_and_fills_the_rest_with_bits():
    model = make_model(4, 5)
    x = (np.random.default_rng(4).random((7, 1, 4, 5)) < 0.5).astype(np.float32)
    for context in (x, x[:, :, :2]):
        completed = model.complete(context, np.random.default_rng(5))
        assert completed.shape == (7, 1, 4, 5)
        np.testing.assert_array_equal(completed[:, :, :2], x[:, :, :2])
        assert set(np.unique(completed)) <= {0.0, 1.0}


def test_complete_draws_from_the_conditional_of_the_lower_half():
    model = make_model(2, 2, seed=6)
    images = all_binary_images(2, 2)
    joint = np.exp(model.astype(np.float64).log_prob(images))
    top = np.array([[[[1.0, 0.0]]]])
    given_top = (images[:, 0, 0] == top[0, 0, 0]).all(axis=1)
    conditional = joint[given_top] / joint[given_top].sum()
    completed = model.complete(np.repeat(top, 8000, axis=0), np.random.default_rng(7))
    codes = (completed[:, 0, 1] * [1, 2]).sum(axis=1).astype(int)
    bottoms = (images[given_top][:, 0, 1] * [1, 2]).sum(axis=1).astype(int)
    counts = np.bincount(codes, minlength=4)[bottoms]
    _, p_value = stats.chisquare(counts, conditional * counts.sum())
    assert p_value > 1e-3


def _numpy_lstm(gates, cell):
    i, f, g, o = np.split(gates, 4, axis=1)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    new_cell = sigmoid(f) * cell + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(new_cell), new_cell


@given(st.integers(1, 3), st.integers(0, 10**6))
def test_lstm_update_follows_the_gate_equations(channels, seed):
    rng = np.random.default_rng(seed)
    gates, cell = rng.normal(0, 2, (2, 4 * channels, 1, 3)), rng.normal(0, 1, (2, channels, 1, 3))
    hidden, new_cell = lstm_update(ag.Tensor(gates), ag.Tensor(cell))
    expected_hidden, expected_cell = _numpy_lstm(gates, cell)
    np.testing.assert_allclose(hidden.data, expected_hidden, rtol=1e-12)
    np.testing.assert_allclose(new_cell.data, expected_cell, rtol=1e-12)


def test_lstm_update_matches_torch_lstm_cell():
    torch = pytest.importorskip("torch")
    cell_module = torch.nn.LSTMCell(3, 2).double()
    rng = np.random.default_rng(0)
    x, h, c = rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    with torch.no_grad():
        expected_h, expected_c = cell_module(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
        gates = (torch.tensor(x) @ cell_module.weight_ih.T + cell_module.bias_ih
                 + torch.tensor(h) @ cell_module.weight_hh.T + cell_module.bias_hh).numpy()
    hidden, new_cell = lstm_update(ag.Tensor(gates), ag.Tensor(c))
    np.testing.assert_allclose(hidden.data, expected_h.numpy(), rtol=1e-10)
    np.testing.assert_allclose(new_cell.data, expected_c.numpy(), rtol=1e-10)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_each_layer_takes_one_recurrent_step_per_row(monkeypatch, num_layers):
    model = make_model(5, 3, num_layers=num_layers)
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


def test_bad_shapes_are_rejected_with_the_argument_named():
    with pytest.raises(ValueError, match="data_shape"):
        RowLSTM((3, 8, 8), rng=np.random.default_rng(0))
    model = make_model(4, 4)
    with pytest.raises(ValueError, match="x must have shape"):
        model.loss(np.zeros((2, 1, 4, 5), np.float32))
    with pytest.raises(ValueError, match="x_top"):
        model.complete(np.zeros((2, 1, 3, 4)), np.random.default_rng(0))


def test_logits_are_a_tensor_of_the_image_shape():
    model = make_model(4, 6)
    logits = model.logits(ag.Tensor(np.zeros((3, 1, 4, 6), np.float32)))
    assert isinstance(logits, ag.Tensor) and logits.shape == (3, 1, 4, 6)
    assert logits.dtype == np.float32
