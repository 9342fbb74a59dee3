"""RNN/LSTM/GRU cells and sequence layers: shapes, parameter counts, gradients, torch parity."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

RNG = np.random.default_rng
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
CELLS = {"RNN": RNNCell, "LSTM": LSTMCell, "GRU": GRUCell}
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _hidden(kind, rng, shape):
    """An initial state in torch's form: h, or (h, c) for an LSTM."""
    h = ag.Tensor(rng.standard_normal(shape), requires_grad=True)
    if kind != "LSTM":
        return h
    return h, ag.Tensor(rng.standard_normal(shape), requires_grad=True)


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


# ----- structure --------------------------------------------------------------------------


@given(st.sampled_from(sorted(LAYERS)), st.integers(1, 5), st.integers(1, 5),
       st.integers(1, 3), st.booleans(), st.booleans())
def test_parameter_count_is_gates_times_weights_and_two_biases(kind, inputs, hidden, layers,
                                                               bidirectional, bias):
    module = LAYERS[kind](inputs, hidden, layers, bias=bias, bidirectional=bidirectional,
                          rng=RNG(0))
    directions = 2 if bidirectional else 1
    expected = 0
    for layer in range(layers):
        layer_input = inputs if layer == 0 else directions * hidden
        # G(H·in + H·H + 2H) per layer and direction (4 for an LSTM, 3 for a GRU)
        per_direction = GATES[kind] * (hidden * layer_input + hidden * hidden
                                       + (2 * hidden if bias else 0))
        expected += directions * per_direction
    assert module.num_parameters() == expected


def test_parameter_names_and_shapes_are_torchs():
    lstm = LSTM(3, 2, num_layers=2, bidirectional=True, rng=RNG(0))
    shapes = {name: p.shape for name, p in lstm.named_parameters()}
    assert list(shapes)[:8] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
        "bias_hh_l0_reverse"]
    assert shapes["weight_ih_l0"] == (8, 3) and shapes["weight_hh_l0"] == (8, 2)
    assert shapes["weight_ih_l1"] == (8, 4) and shapes["bias_hh_l1_reverse"] == (8,)


def test_gru_has_three_gate_blocks_and_no_cell_state():
    gru, cell = GRU(3, 4, rng=RNG(0)), GRUCell(3, 4, rng=RNG(0))
    assert gru.weight_ih_l0.shape == (12, 3) and gru.weight_hh_l0.shape == (12, 4)
    assert cell.weight_ih.shape == (12, 3)
    x = np.zeros((5, 2, 3), dtype=np.float32)
    output, h_n = gru(x)
    assert isinstance(h_n, ag.Tensor) and h_n.shape == (1, 2, 4) and output.shape == (5, 2, 4)
    assert isinstance(cell(x[0]), ag.Tensor)


def test_lstm_has_four_gate_blocks_and_a_cell_state():
    lstm, cell = LSTM(3, 4, rng=RNG(0)), LSTMCell(3, 4, rng=RNG(0))
    assert lstm.weight_ih_l0.shape == (16, 3) and cell.weight_hh.shape == (16, 4)
    output, (h_n, c_n) = lstm(np.zeros((5, 2, 3), dtype=np.float32))
    assert h_n.shape == c_n.shape == (1, 2, 4)
    h, c = cell(np.zeros((2, 3), dtype=np.float32))
    assert h.shape == c.shape == (2, 4)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_init_is_uniform_within_one_over_sqrt_hidden(kind):
    module = LAYERS[kind](5, 16, rng=RNG(1))
    values = np.concatenate([p.data.ravel() for p in module.parameters()])
    assert values.dtype == np.float32
    assert np.all(np.abs(values) <= 0.25) and values.max() > 0.24 and values.min() < -0.24


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("batch_first", [False, True])
def test_output_and_state_shapes(kind, batch_first):
    module = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, batch_first=batch_first,
                          rng=RNG(0))
    x = np.zeros((2, 5, 3) if batch_first else (5, 2, 3), dtype=np.float32)
    output, state = module(x)
    assert output.shape == ((2, 5, 8) if batch_first else (5, 2, 8))
    assert all(s.shape == (4, 2, 4) for s in _flat(state))
    assert output.dtype == np.float32


# ----- the sequence layer is its cell applied step by step --------------------------------


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_sequence_layer_equals_its_cell_unrolled(kind):
    rng = RNG(2)
    layer = LAYERS[kind](3, 4, rng=rng, dtype=np.float64)
    cell = CELLS[kind](3, 4, rng=rng, dtype=np.float64)
    cell.load_state_dict({name[:-3]: value for name, value in layer.state_dict().items()})
    x = rng.standard_normal((6, 2, 3))
    state = None
    outputs = []
    for t in range(6):
        state = cell(x[t], state)
        outputs.append((state[0] if kind == "LSTM" else state).data)
    output, final = layer(x)
    np.testing.assert_allclose(output.data, np.stack(outputs), rtol=1e-12)
    for ours, theirs in zip(_flat(final), _flat(state)):
        np.testing.assert_allclose(ours.data[0], theirs.data, rtol=1e-12)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_reverse_direction_reads_the_sequence_backwards(kind):
    rng = RNG(3)
    both = LAYERS[kind](2, 3, bidirectional=True, rng=rng, dtype=np.float64)
    backward_only = LAYERS[kind](2, 3, rng=rng, dtype=np.float64)
    backward_only.load_state_dict({name.replace("_reverse", ""): value
                                   for name, value in both.state_dict().items()
                                   if name.endswith("_reverse")})
    x = rng.standard_normal((5, 1, 2))
    output, _ = both(x)
    reversed_output, _ = backward_only(x[::-1].copy())
    np.testing.assert_allclose(output.data[:, :, 3:], reversed_output.data[::-1], rtol=1e-12)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_unbatched_input_equals_a_batch_of_one(kind):
    rng = RNG(4)
    module = LAYERS[kind](2, 3, num_layers=2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((4, 2))
    single, single_state = module(x)
    batch, batch_state = module(x[:, None, :])
    np.testing.assert_allclose(single.data, batch.data[:, 0], rtol=1e-12)
    for s, b in zip(_flat(single_state), _flat(batch_state)):
        np.testing.assert_allclose(s.data, b.data[:, 0], rtol=1e-12)


def test_rnn_relu_nonlinearity_never_goes_negative():
    rnn = RNN(3, 5, nonlinearity="relu", rng=RNG(5))
    output, h_n = rnn(RNG(6).standard_normal((7, 2, 3)).astype(np.float32))
    assert output.data.min() >= 0 and np.any(output.data == 0)


# ----- errors ------------------------------------------------------------------------------


def test_wrong_input_size_names_the_expected_layout():
    with pytest.raises(ValueError, match=r"\(N, L, input_size\).*got shape \(2, 5, 4\)"):
        LSTM(3, 4, batch_first=True, rng=RNG(0))(np.zeros((2, 5, 4), dtype=np.float32))


def test_wrong_initial_state_shape_names_both_shapes():
    gru = GRU(3, 4, num_layers=2, rng=RNG(0))
    with pytest.raises(ValueError, match=r"\(1, 2, 4\), expected \(2, 2, 4\)"):
        gru(np.zeros((5, 2, 3), dtype=np.float32), np.zeros((1, 2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="pair"):
        LSTM(3, 4, rng=RNG(0))(np.zeros((5, 2, 3), dtype=np.float32), (np.zeros((1, 2, 4)),))


def test_bad_constructor_arguments_are_rejected():
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid", rng=RNG(0))
    with pytest.raises(ValueError, match="num_layers"):
        LSTM(3, 4, num_layers=0, rng=RNG(0))
    with pytest.raises(TypeError, match="Generator"):
        GRUCell(3, 4, rng=None)


def test_inter_layer_dropout_needs_rng_in_training_only():
    lstm = LSTM(2, 3, num_layers=2, dropout=0.5, rng=RNG(0))
    x = np.ones((4, 1, 2), dtype=np.float32)
    with pytest.raises(TypeError, match="needs rng"):
        lstm(x)
    first, _ = lstm(x, rng=RNG(1))
    second, _ = lstm(x, rng=RNG(2))
    assert not np.allclose(first.data, second.data)
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].data, lstm(x)[0].data)


# ----- gradients ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_gradcheck(kind):
    rng = RNG(7)
    cell = CELLS[kind](2, 3, rng=rng, dtype=np.float64)
    x = ag.Tensor(rng.standard_normal((2, 2)), requires_grad=True)
    state = _flat(_hidden(kind, rng, (2, 3)))

    def run(x, *tensors):
        hx = tuple(tensors[:2]) if kind == "LSTM" else tensors[0]
        return ag.concat(_flat(cell(x, hx)), axis=1)

    ag.gradcheck(run, [x, *state, *cell.parameters()])


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_two_layer_bidirectional_gradcheck(kind):
    rng = RNG(8)
    module = LAYERS[kind](2, 2, num_layers=2, bidirectional=True, batch_first=True, rng=rng,
                          dtype=np.float64)
    x = ag.Tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    state = _flat(_hidden(kind, rng, (4, 2, 2)))

    def run(x, *tensors):
        hx = tuple(tensors[:2]) if kind == "LSTM" else tensors[0]
        output, final = module(x, hx)
        return ag.concat([output.reshape(-1)] + [s.reshape(-1) for s in _flat(final)])

    ag.gradcheck(run, [x, *state, *module.parameters()])


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_second_order_gradcheck(kind):
    """The fused lstm_cell/gru_cell VJPs recompute in Tensor ops under create_graph."""
    rng = RNG(9)
    cell = CELLS[kind](2, 2, rng=rng, dtype=np.float64)
    x = ag.Tensor(rng.standard_normal((2, 2)), requires_grad=True)
    state = _flat(_hidden(kind, rng, (2, 2)))

    def run(x, *tensors):
        hx = tuple(tensors) if kind == "LSTM" else tensors[0]
        return ag.concat(_flat(cell(x, hx)), axis=1)

    ag.gradcheck(run, [x, *state], order=2)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_layer_backward_adds_no_full_size_gradient_per_time_step(kind, monkeypatch):
    """Each step's input slice comes from one unstack, not indexing: O(T) backward memory."""
    full_size_gradients = []
    scatter_add = ag.ops.scatter_add
    monkeypatch.setattr(ag.ops, "scatter_add",
                        lambda *args: full_size_gradients.append(1) or scatter_add(*args))
    module = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, rng=RNG(10))
    x = ag.Tensor(RNG(11).standard_normal((16, 2, 3)).astype(np.float32), requires_grad=True)
    output, _ = module(x)
    output.sum().backward()
    assert not full_size_gradients
    assert x.grad.shape == x.shape


# ----- parity with torch -------------------------------------------------------------------


def _torch_layer(torch, ours, **kwargs):
    theirs = getattr(torch.nn, type(ours).__name__)(**kwargs).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return theirs


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_layer_matches_torch(kind, batch_first, bidirectional):
    torch = pytest.importorskip("torch")
    rng = RNG(9)
    options = dict(input_size=3, hidden_size=4, num_layers=2, batch_first=batch_first,
                   bidirectional=bidirectional)
    ours = LAYERS[kind](**options, rng=rng, dtype=np.float64)
    theirs = _torch_layer(torch, ours, **options)
    directions = 2 if bidirectional else 1
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    hx = _hidden(kind, rng, (2 * directions, 2, 4))
    torch_x = torch.tensor(x, requires_grad=True)
    torch_hx = tuple(torch.tensor(h.data, requires_grad=True) for h in _flat(hx))
    ours_x = ag.Tensor(x, requires_grad=True)
    output, final = ours(ours_x, hx)
    expected, expected_final = theirs(torch_x, torch_hx if kind == "LSTM" else torch_hx[0])
    np.testing.assert_allclose(output.data, expected.detach().numpy(), atol=1e-12)
    for ours_s, theirs_s in zip(_flat(final), _flat(expected_final)):
        np.testing.assert_allclose(ours_s.data, theirs_s.detach().numpy(), atol=1e-12)
    # Backward through a random projection of every output.
    directions_out = [rng.standard_normal(t.shape) for t in [output, *_flat(final)]]
    loss = sum((t * d).sum() for t, d in zip([output, *_flat(final)], directions_out))
    loss.backward()
    torch_loss = sum((t * torch.tensor(d)).sum()
                     for t, d in zip([expected, *_flat(expected_final)], directions_out))
    torch_loss.backward()
    np.testing.assert_allclose(ours_x.grad, torch_x.grad.numpy(), atol=1e-12)
    for ours_h, torch_h in zip(_flat(hx), torch_hx):
        np.testing.assert_allclose(ours_h.grad, torch_h.grad.numpy(), atol=1e-12)
    torch_parameters = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_parameters[name].grad.numpy(), atol=1e-12,
                                   err_msg=name)


def test_rnn_relu_matches_torch():
    torch = pytest.importorskip("torch")
    rng = RNG(10)
    ours = RNN(3, 4, nonlinearity="relu", rng=rng, dtype=np.float64)
    theirs = _torch_layer(torch, ours, input_size=3, hidden_size=4, nonlinearity="relu")
    x = rng.standard_normal((6, 2, 3))
    np.testing.assert_allclose(ours(x)[0].data, theirs(torch.tensor(x))[0].detach().numpy(),
                               atol=1e-12)


def test_float32_lstm_matches_torch_default():
    torch = pytest.importorskip("torch")
    rng = RNG(11)
    ours = LSTM(8, 16, batch_first=True, rng=rng)
    theirs = torch.nn.LSTM(8, 16, batch_first=True)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((4, 10, 8)).astype(np.float32)
    output, _ = ours(x)
    output.sum().backward()
    expected, _ = theirs(torch.tensor(x))
    expected.sum().backward()
    np.testing.assert_allclose(output.data, expected.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.weight_hh_l0.grad, theirs.weight_hh_l0.grad.numpy(),
                               atol=1e-4)


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_torch(kind, batched):
    torch = pytest.importorskip("torch")
    rng = RNG(12)
    ours = CELLS[kind](3, 4, rng=rng, dtype=np.float64)
    theirs = getattr(torch.nn, type(ours).__name__)(3, 4).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    shape = (2, 4) if batched else (4,)
    x = rng.standard_normal((2, 3) if batched else (3,))
    hx = _hidden(kind, rng, shape)
    torch_hx = tuple(torch.tensor(h.data) for h in _flat(hx))
    result = _flat(ours(x, hx))
    expected = _flat(theirs(torch.tensor(x), torch_hx if kind == "LSTM" else torch_hx[0]))
    for mine, reference in zip(result, expected):
        np.testing.assert_allclose(mine.data, reference.detach().numpy(), atol=1e-12)
    sum(r.sum() for r in result).backward()
    sum(e.sum() for e in expected).backward()
    np.testing.assert_allclose(ours.weight_hh.grad, theirs.weight_hh.grad.numpy(), atol=1e-12)
