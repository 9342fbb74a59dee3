"""PixelRNN Diagonal BiLSTM: LSTMs that sweep the image along its diagonals, both ways.

Idea. The chain rule in raster order, p(x) = Π_{i,j} p(x_ij | x_<ij) with
p(x_ij = 1 | x_<ij) = σ(l_ij). A diagonal LSTM gives the state at (i, j) the states at
(i − 1, j) and (i, j − 1): one recurrence then covers the whole quadrant above-left. Those
two neighbours lie on the previous diagonal, so all states of a diagonal can be computed
at once. Skewing the input (row r shifted right by r, so (H, W) becomes (H, W + H − 1))
turns diagonals into columns, and the neighbours (i − 1, j), (i, j − 1) into rows r − 1
and r of the previous column: a 2×1 state-to-state convolution.

    [i, f, g, o]_c = K^is ⋆ u_c + K^ss ⋆ h_{c−1}        (column c of the skewed map)
    c_c = σ(f) ⊙ c_{c−1} + σ(i) ⊙ tanh(g),    h_c = σ(o) ⊙ tanh(c_c)

An N×N image takes 2N − 1 column steps. A second LSTM runs right to left (on the
horizontally flipped input) and covers the quadrant above-right.

Causality comes from two shifts, not from masks. The layer input u may see its own pixel
(the first layer reads a type-B masked k×k convolution of the image). The left-to-right
output is shifted right one column and the right-to-left output down one row, so

    left-to-right at (i, j − 1):    u at rows ≤ i, columns ≤ j − 1
    right-to-left at (i − 1, j):    u at rows ≤ i − 1, columns ≥ j

and their sum at (i, j) sees exactly the raster-order past of (i, j): the whole of it,
after a single layer. Later layers are residual (their input is already strictly causal).

Objective (exact negative log-likelihood, nats per image, mean over the batch):

    L = −E_x Σ_ij [x_ij l_ij − softplus(l_ij)].

Paper: A. van den Oord, N. Kalchbrenner, K. Kavukcuoglu (2016), "Pixel Recurrent Neural
Networks", ICML (Section 3.2, Fig. 3, Table 1).

Deviations: one binary channel with a Bernoulli output instead of 256-way colour channels.
The paper puts a type-A mask on a 7×7 first convolution, 1×1 type-B input-to-state
kernels in the LSTMs and shifts only the right-to-left output. With that arrangement the
right-to-left LSTM reads features that exclude their own pixel, so the last pixel of the
previous row, (i − 1, W − 1), reaches (i, j) only when j ≥ W − 1 − k//2 (we measured the
gap with influence_map). Shifting the left-to-right output right instead of masking the
first layer closes it. With one image channel a 1×1 kernel has nothing to mask (colour
masks matter only for RGB), so the input-to-state kernels are plain 1×1 convolutions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.autoregressive.base import AutoregressiveImageModel
from minigen.nn import Conv2d, Module, Sequential
from minigen.nn.masked_conv import (
    MaskedConv2d,
    PixelLogitHead,
    shift_down,
    shift_right,
    skew,
    unskew,
)


class DiagonalLSTM(Module):
    """One direction, left to right: u : (N, C, H, W) -> h : (N, C, H, W)."""

    def __init__(self, channels: int, *, rng: np.random.Generator) -> None:
        super().__init__()
        self.input_to_state = Conv2d(channels, 4 * channels, 1, rng=rng)
        self.state_to_state = Conv2d(channels, 4 * channels, (2, 1), bias=False, rng=rng)

    def step(self, from_input: Tensor, hidden: Tensor, cell: Tensor) -> tuple[Tensor, Tensor]:
        """One diagonal: from_input, hidden, cell : (N, ·, H, 1) -> new (hidden, cell)."""
        # row r of the new column reads rows r − 1 and r of the previous one: (i−1, j), (i, j−1)
        above_and_left = ag.pad(hidden, ((0, 0), (0, 0), (1, 0), (0, 0)))
        gates = from_input + self.state_to_state(above_and_left)  # K^is ⋆ u + K^ss ⋆ h
        return ag.lstm_cell(gates, cell, axis=1)  # i, f, g, o on channels

    def forward(self, u: Tensor) -> Tensor:
        n, channels, height, width = u.shape
        skewed = skew(self.input_to_state(u))  # diagonals become columns
        hidden = cell = Tensor(np.zeros((n, channels, height, 1), dtype=u.dtype))
        columns = []
        # W + H − 1 steps; one split, not a slice per column: its backward joins the
        # columns' gradients once instead of adding a full-size gradient per step
        for from_input in ag.split(skewed, skewed.shape[3], axis=3):
            hidden, cell = self.step(from_input, hidden, cell)
            columns.append(hidden)
        return unskew(ag.concat(columns, axis=3), width)


class DiagonalBiLSTMLayer(Module):
    """u : (N, C, H, W) -> left-to-right shifted right + right-to-left shifted down.

    If u at (i, j) depends on x at (i, j) and before only, the output at (i, j) depends on
    x strictly before (i, j) only.
    """

    def __init__(self, channels: int, *, rng: np.random.Generator) -> None:
        super().__init__()
        self.left_to_right = DiagonalLSTM(channels, rng=rng)
        self.right_to_left = DiagonalLSTM(channels, rng=rng)

    def forward(self, u: Tensor) -> Tensor:
        flip = (slice(None), slice(None), slice(None), slice(None, None, -1))
        left = self.left_to_right(u)  # sees rows ≤ i, columns ≤ j
        right = self.right_to_left(u[flip])[flip]  # sees rows ≤ i, columns ≥ j
        # (i, j) receives the left-to-right state of (i, j − 1): row i before j only;
        # and the right-to-left state of (i − 1, j): rows < i only
        return shift_right(left) + shift_down(right)


class DiagonalBiLSTM(AutoregressiveImageModel):
    """PixelRNN with Diagonal BiLSTM layers, for binary images.

    Parameters
    ----------
    data_shape : (1, H, W)
    rng : draws the initial weights
    channels : hidden width C of every layer
    first_kernel : k of the type-B first convolution (odd)
    num_layers : number of bidirectional layers
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        channels: int = 16,
        first_kernel: int = 3,
        num_layers: int = 1,
    ) -> None:
        super().__init__()
        self.data_shape = self.check_data_shape(data_shape, "DiagonalBiLSTM")
        self.first = MaskedConv2d(1, channels, first_kernel, "B", rng=rng)
        self.layers = Sequential(
            *[DiagonalBiLSTMLayer(channels, rng=rng) for _ in range(num_layers)]
        )
        self.head = PixelLogitHead(channels, rng=rng)

    def logits(self, x: Any) -> Tensor:
        """l_ij from x_<ij only. x : (N, 1, H, W) -> (N, 1, H, W)."""
        u = self.first(self.images(x))  # type B: may see x_ij, not after it
        u = self.layers[0](u)  # from here on, strictly before (i, j)
        for index in range(1, len(self.layers)):
            u = u + self.layers[index](u)  # residual connection between layers
        return self.head(u)
