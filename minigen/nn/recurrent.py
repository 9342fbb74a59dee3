"""Recurrent layers: RNN, LSTM and GRU cells, and the sequence layers built from them.

Names, gate order, parameter shapes and initialisation follow torch.nn, so a state_dict
copies across in either direction. G is the number of gate blocks (1 for an RNN, 4 for an
LSTM, 3 for a GRU) and H the hidden size:

    weight_ih : (G·H, input_size)    weight_hh : (G·H, H)    bias_ih, bias_hh : (G·H,)

all drawn from U(−1/√H, 1/√H). The rows of ``weight_ih`` stack the gates' blocks in
torch's order: LSTM (i, f, g, o), GRU (r, z, n).

Inside, states are columns, as in the equations: h : (H, N) holds one example per column,
so every step computes W_hh h with two C-contiguous arrays (BLAS's fast case; 10–15% faster
here than h Wᵀ on rows). Inputs are transposed on the way in and outputs on the way out;
the public shapes are torch's.

The sequence layers project every time step's input at once, W_ih [x_1 … x_T] + b_ih as
one (G·H, in) @ (in, T·N) matmul, and ``ag.unstack`` hands each step its (G·H, N) slice:
the backward pass concatenates the T slice gradients once (O(T) memory traffic; slicing
with indexing would add a full-size gradient per step, O(T²)). Each step then runs the
same step function the cells use; the LSTM and GRU steps are the engine's fused
``lstm_cell`` and ``gru_cell`` primitives (one recorded op instead of about fifteen).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_rng

from .dropout import dropout
from .layers import uniform_init
from .module import Module, Parameter

State = tuple[Tensor, ...]

# ----------------------------------------------------------------------------------------
# one time step (column layout: x_gates (G·H, N), states (H, N), weight_hh (G·H, H))
# ----------------------------------------------------------------------------------------


def _hidden_gates(h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    hidden = weight_hh @ h
    return hidden if bias_hh is None else hidden + bias_hh


def rnn_step(
    x_gates: Tensor, state: State, weight_hh: Tensor, bias_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> State:
    """Elman RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu.

    ``x_gates`` is W_ih x + b_ih (or with b_hh already added, then ``bias_hh=None``).
    """
    (h,) = state
    pre_activation = x_gates + _hidden_gates(h, weight_hh, bias_hh)
    return (ag.tanh(pre_activation) if nonlinearity == "tanh" else ag.relu(pre_activation),)


def lstm_step(
    x_gates: Tensor, state: State, weight_hh: Tensor, bias_hh: Tensor | None = None
) -> State:
    """LSTM (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000).

        i = σ(W_ii x + b_ii + W_hi h + b_hi)      input gate
        f = σ(W_if x + b_if + W_hf h + b_hf)      forget gate
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)   candidate cell
        o = σ(W_io x + b_io + W_ho h + b_ho)      output gate
        c' = f ⊙ c + i ⊙ g
        h' = o ⊙ tanh(c')

    ``state`` is (h, c); returns (h', c').
    """
    h, c = state
    return ag.lstm_cell(x_gates + _hidden_gates(h, weight_hh, bias_hh), c, axis=0)


def gru_step(
    x_gates: Tensor, state: State, weight_hh: Tensor, bias_hh: Tensor | None = None
) -> State:
    """GRU (Cho et al., 2014) as torch writes it; no cell state.

        r = σ(W_ir x + b_ir + W_hr h + b_hr)              reset gate
        z = σ(W_iz x + b_iz + W_hz h + b_hz)              update gate
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     candidate
        h' = (1 − z) ⊙ n + z ⊙ h

    b_hn sits inside the reset product, so ``x_gates`` must not include b_hh.
    """
    (h,) = state
    return (ag.gru_cell(x_gates, _hidden_gates(h, weight_hh, bias_hh), h, axis=0),)


# ----------------------------------------------------------------------------------------
# helpers shared by cells and sequence layers
# ----------------------------------------------------------------------------------------


def _init(shape: tuple[int, ...], hidden_size: int, rng: np.random.Generator,
          dtype: Any) -> Parameter:
    return Parameter(uniform_init(shape, 1 / np.sqrt(hidden_size), rng, dtype))


def _column(bias: Tensor | None) -> Tensor | None:
    return None if bias is None else bias.reshape(bias.shape[0], 1)


def _check_sizes(layer: str, input_size: int, hidden_size: int) -> None:
    if input_size <= 0 or hidden_size <= 0:
        raise ValueError(
            f"{layer}: input_size and hidden_size must be positive, got {input_size} and "
            f"{hidden_size}"
        )


_KINDS: dict[str, tuple[int, Callable[..., State], int, bool]] = {
    # kind: (gate blocks G, step function, state tensors, b_hh can be folded into x_gates)
    "RNN": (1, rnn_step, 1, True),
    "LSTM": (4, lstm_step, 2, True),
    "GRU": (3, gru_step, 1, False),
}


def _biases(bias_ih: Tensor | None, bias_hh: Tensor | None,
            fold: bool) -> tuple[Tensor | None, Tensor | None]:
    """(bias added to W_ih x, bias added to W_hh h), as (G·H, 1) columns."""
    if bias_ih is None:
        return None, None
    if fold:  # W_ih x + b_ih + W_hh h + b_hh: add both biases once, to the input side
        return _column(bias_ih + bias_hh), None
    return _column(bias_ih), _column(bias_hh)


def _step_function(kind: str, nonlinearity: str) -> Callable[..., State]:
    step = _KINDS[kind][1]
    if kind == "RNN":
        return lambda x_gates, state, w, b: rnn_step(x_gates, state, w, b, nonlinearity)
    return step


def _check_nonlinearity(nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


# ----------------------------------------------------------------------------------------
# cells: one step, torch's shapes (input (N, input_size), states (N, H))
# ----------------------------------------------------------------------------------------


class _Cell(Module):
    kind = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, nonlinearity: str,
                 rng: np.random.Generator, dtype: Any) -> None:
        super().__init__()
        name = type(self).__name__
        check_rng(name, rng)
        _check_sizes(name, input_size, hidden_size)
        gates, _, self._num_states, self._fold = _KINDS[self.kind]
        self._step = _step_function(self.kind, nonlinearity)
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.weight_ih = _init((gates * hidden_size, input_size), hidden_size, rng, dtype)
        self.weight_hh = _init((gates * hidden_size, hidden_size), hidden_size, rng, dtype)
        self.bias_ih = _init((gates * hidden_size,), hidden_size, rng, dtype) if bias else None
        self.bias_hh = _init((gates * hidden_size,), hidden_size, rng, dtype) if bias else None

    def _run(self, input: Any, hx: Sequence[Any] | None) -> tuple[State, bool]:
        name = type(self).__name__
        x = ag.as_tensor(input)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}({self.input_size}, {self.hidden_size}): input must be "
                f"(N, {self.input_size}) or ({self.input_size},), got shape {x.shape}"
            )
        batched = x.ndim == 2
        x = x if batched else x.reshape(1, self.input_size)
        batch = x.shape[0]
        if hx is None:
            zeros = np.zeros((self.hidden_size, batch), dtype=self.weight_hh.dtype)
            state = tuple(Tensor(zeros) for _ in range(self._num_states))
        else:
            expected = (batch, self.hidden_size) if batched else (self.hidden_size,)
            state = []
            for tensor in hx:
                tensor = ag.as_tensor(tensor)
                if tensor.shape != expected:
                    raise ValueError(
                        f"{name}: hidden state has shape {tensor.shape}, expected {expected} "
                        f"for input of shape {ag.as_tensor(input).shape}"
                    )
                state.append(tensor.reshape(batch, self.hidden_size).T)
            state = tuple(state)
        bias_x, bias_h = _biases(self.bias_ih, self.bias_hh, self._fold)
        x_gates = self.weight_ih @ x.T
        if bias_x is not None:
            x_gates = x_gates + bias_x
        new_state = self._step(x_gates, state, self.weight_hh, bias_h)
        if batched:
            return tuple(s.T for s in new_state), True
        return tuple(s.reshape(self.hidden_size) for s in new_state), False

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_Cell):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh) for one step (see :func:`rnn_step`).

    ``forward(input, hx=None)``: input (N, input_size) or (input_size,), hx (N, H) or
    (H,), zeros when omitted -> h' of hx's shape.
    """

    kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, rng: np.random.Generator,
                 dtype: Any = np.float32) -> None:
        super().__init__(input_size, hidden_size, bias, _check_nonlinearity(nonlinearity),
                         rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        (h,), _ = self._run(input, None if hx is None else (hx,))
        return h


class LSTMCell(_Cell):
    """One LSTM step with gates i, f, g, o and a cell state (see :func:`lstm_step`).

    ``forward(input, hx=None)``: input (N, input_size) or (input_size,), hx = (h, c) each
    (N, H) or (H,), zeros when omitted -> (h', c').
    """

    kind = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 rng: np.random.Generator, dtype: Any = np.float32) -> None:
        super().__init__(input_size, hidden_size, bias, "tanh", rng, dtype)

    def forward(self, input: Any, hx: tuple[Any, Any] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and len(hx) != 2:
            raise ValueError(f"LSTMCell: hx must be a pair (h, c), got {len(hx)} items")
        (h, c), _ = self._run(input, hx)
        return h, c


class GRUCell(_Cell):
    """One GRU step with reset and update gates, no cell state (see :func:`gru_step`).

    ``forward(input, hx=None)``: input (N, input_size) or (input_size,), hx (N, H) or
    (H,), zeros when omitted -> h'.
    """

    kind = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 rng: np.random.Generator, dtype: Any = np.float32) -> None:
        super().__init__(input_size, hidden_size, bias, "tanh", rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        (h,), _ = self._run(input, None if hx is None else (hx,))
        return h


# ----------------------------------------------------------------------------------------
# sequence layers: the cells' steps run over time, stacked and optionally bidirectional
# ----------------------------------------------------------------------------------------


class _RecurrentLayer(Module):
    """Shared body of RNN, LSTM and GRU (torch's argument order and parameter names).

    Layer ``k`` direction ``d`` owns ``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (suffix ``_reverse`` for the backward direction),
    registered in torch's order. Layer 0 reads the input; layer k > 0 reads the
    concatenated outputs of both directions of layer k − 1 (after dropout, if any).
    """

    kind = ""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, nonlinearity: str,
                 bias: bool, batch_first: bool, dropout: float, bidirectional: bool,
                 rng: np.random.Generator, dtype: Any) -> None:
        super().__init__()
        name = type(self).__name__
        check_rng(name, rng)
        _check_sizes(name, input_size, hidden_size)
        if num_layers < 1:
            raise ValueError(f"{name}: num_layers must be at least 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{name}: dropout must lie in [0, 1), got {dropout}")
        gates, _, self._num_states, self._fold = _KINDS[self.kind]
        self._step = _step_function(self.kind, nonlinearity)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.num_directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes():
                shapes = {"weight_ih": (gates * hidden_size, layer_input),
                          "weight_hh": (gates * hidden_size, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates * hidden_size,), bias_hh=(gates * hidden_size,))
                for kind, shape in shapes.items():
                    setattr(self, f"{kind}_l{layer}{suffix}", _init(shape, hidden_size, rng, dtype))

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def _weights(self, layer: int, suffix: str) -> tuple[Tensor, ...]:
        """weight_ih, weight_hh, bias_ih, bias_hh of one layer and direction (None if no bias)."""
        return tuple(getattr(self, f"{kind}_l{layer}{suffix}", None)
                     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    # ----- input and state checks ----------------------------------------------------
    def _sequence(self, input: Any) -> tuple[Tensor, bool]:
        """The input as (L, input_size, N): one column per example at each step."""
        name = type(self).__name__
        x = ag.as_tensor(input)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, L, input_size)" if self.batch_first else "(L, N, input_size)"
            raise ValueError(
                f"{name}(input_size={self.input_size}): input must be {layout} or "
                f"(L, input_size), got shape {x.shape}"
            )
        batched = x.ndim == 3
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        if x.shape[0] == 0:
            raise ValueError(f"{name}: the input sequence is empty (shape {x.shape})")
        return x.transpose(0, 2, 1), batched

    def _initial_states(self, hx: Any, batch: int, batched: bool) -> list[State]:
        """One state tuple per (layer, direction), each tensor (H, N)."""
        name = type(self).__name__
        count = self.num_layers * self.num_directions
        if hx is None:
            zeros = np.zeros((self.hidden_size, batch), dtype=self.weight_hh_l0.dtype)
            return [tuple(Tensor(zeros) for _ in range(self._num_states))] * count
        parts = tuple(hx) if self._num_states == 2 else (hx,)
        if len(parts) != self._num_states:
            raise ValueError(f"{name}: hx must be a pair (h_0, c_0), got {len(parts)} items")
        expected = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        states = []
        for part in parts:
            part = ag.as_tensor(part)
            if part.shape != expected:
                raise ValueError(
                    f"{name}: initial state has shape {part.shape}, expected {expected} "
                    "(num_layers · num_directions, N, hidden_size)"
                )
            states.append(part.reshape(count, batch, self.hidden_size).transpose(0, 2, 1))
        return [tuple(part[k] for part in states) for k in range(count)]

    # ----- the recurrence ------------------------------------------------------------
    def _run_direction(self, sequence: Tensor, state: State, layer: int,
                       suffix: str) -> tuple[Tensor, State]:
        """sequence (L, in, N) -> every step's h (L, H, N) and the final state."""
        weight_ih, weight_hh, bias_ih, bias_hh = self._weights(layer, suffix)
        bias_x, bias_h = _biases(bias_ih, bias_hh, self._fold)
        length, features, batch = sequence.shape
        # W_ih [x_1 … x_L] (+ b) for every step in one matmul, then one (G·H, N) per step
        columns = sequence.transpose(1, 0, 2).reshape(features, length * batch)
        projected = weight_ih @ columns
        if bias_x is not None:
            projected = projected + bias_x
        if self.kind == "LSTM":  # the whole recurrence is one hand-written primitive
            outputs, *final = ag.lstm_sequence(projected.reshape(-1, length, batch),
                                               *state, weight_hh, reverse=bool(suffix))
            return outputs, tuple(final)
        x_gates = ag.unstack(projected.reshape(-1, length, batch), axis=1)
        steps = range(length - 1, -1, -1) if suffix else range(length)
        outputs: list[Tensor] = [None] * length  # type: ignore[list-item]
        for t in steps:
            state = self._step(x_gates[t], state, weight_hh, bias_h)
            outputs[t] = state[0]
        return ag.stack(outputs, axis=0), state

    def forward(self, input: Any, hx: Any = None,
                rng: np.random.Generator | None = None) -> tuple[Tensor, Any]:
        sequence, batched = self._sequence(input)
        initial = self._initial_states(hx, sequence.shape[2], batched)
        finals: list[State] = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                sequence = dropout(sequence, self.dropout, rng, self.training)
            directions = []
            for d, suffix in enumerate(self._suffixes()):
                state = initial[layer * self.num_directions + d]
                outputs, final = self._run_direction(sequence, state, layer, suffix)
                directions.append(outputs)
                finals.append(final)
            sequence = directions[0] if len(directions) == 1 else ag.concat(directions, axis=1)
        return self._pack(sequence, finals, batched)

    def _pack(self, sequence: Tensor, finals: list[State],
              batched: bool) -> tuple[Tensor, Any]:
        """Back to torch's layouts: output (L, N, D·H) or (N, L, D·H), h_n (D·layers, N, H)."""
        if not batched:  # sequence is (L, D·H, N)
            output = sequence.reshape(sequence.shape[0], sequence.shape[1])
        else:
            output = sequence.transpose((2, 0, 1) if self.batch_first else (0, 2, 1))
        last = []
        for k in range(self._num_states):
            h_n = ag.stack([final[k] for final in finals], axis=0)  # (D·layers, H, N)
            last.append(h_n.reshape(h_n.shape[0], h_n.shape[1]) if not batched
                        else h_n.transpose(0, 2, 1))
        return output, (tuple(last) if self._num_states == 2 else last[0])

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"batch_first={self.batch_first}, bidirectional={self.bidirectional}")


class RNN(_RecurrentLayer):
    """Elman RNN over a sequence: h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh).

    ``forward(input, hx=None, rng=None) -> (output, h_n)``

    input : (L, N, input_size), (N, L, input_size) if batch_first, or (L, input_size)
    hx : (num_layers · D, N, H), zeros when omitted (D = 2 if bidirectional else 1)
    output : (L, N, D·H) (batch_first: (N, L, D·H)), the last layer's h_t for every t
    h_n : (num_layers · D, N, H), the final state of every layer and direction
    ``rng`` draws the inter-layer dropout masks (only with dropout > 0 in training).
    """

    kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *,
                 rng: np.random.Generator, dtype: Any = np.float32) -> None:
        super().__init__(input_size, hidden_size, num_layers,
                         _check_nonlinearity(nonlinearity), bias, batch_first, dropout,
                         bidirectional, rng, dtype)


class LSTM(_RecurrentLayer):
    """LSTM over a sequence, each step :func:`lstm_step` (gates i, f, g, o; cell state c).

    ``forward(input, hx=None, rng=None) -> (output, (h_n, c_n))``

    input : (L, N, input_size), (N, L, input_size) if batch_first, or (L, input_size)
    hx : (h_0, c_0), each (num_layers · D, N, H); zeros when omitted
    output : (L, N, D·H) (batch_first: (N, L, D·H))
    h_n, c_n : (num_layers · D, N, H)
    Parameters per layer and direction: 4(H·in + H·H + 2H).
    """

    kind = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, rng: np.random.Generator,
                 dtype: Any = np.float32) -> None:
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first,
                         dropout, bidirectional, rng, dtype)


class GRU(_RecurrentLayer):
    """GRU over a sequence, each step :func:`gru_step` (gates r, z, n; no cell state).

    ``forward(input, hx=None, rng=None) -> (output, h_n)`` with the shapes of :class:`RNN`.
    Parameters per layer and direction: 3(H·in + H·H + 2H).
    """

    kind = "GRU"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, rng: np.random.Generator,
                 dtype: Any = np.float32) -> None:
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first,
                         dropout, bidirectional, rng, dtype)
