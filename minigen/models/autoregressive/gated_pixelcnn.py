"""Gated PixelCNN: two convolution stacks that together see the whole past, no blind spot.

Idea. The chain rule in raster order, p(x) = Π_{i,j} p(x_ij | x_<ij) with
p(x_ij = 1 | x_<ij) = σ(l_ij), as in PixelCNN. PixelCNN's masked k×k kernels leave a blind
spot up and to the right. Here the past is split in two parts, each seen by its own stack:

* the vertical stack sees every row above: a (k//2+1)×k kernel on the input padded with
  k//2 rows on top covers rows i − k//2 … i (the current row included, so the stack is
  not causal on its own); before it feeds the horizontal stack its features are shifted
  down one row, so that pixel (i, j) receives only rows < i;
* the horizontal stack sees the current row to the left: a 1×(k//2+1) kernel on the input
  padded with k//2 columns on the left covers columns j − k//2 … j, with the centre tap
  masked in the first layer (type A: l_ij must not see x_ij).

Each layer's activation is gated, y = tanh(W_f ⋆ u) ⊙ σ(W_g ⋆ u), and the horizontal
stack is residual. After L layers pixel (i, j) sees the rows i − R − 1 … i − 1 within
R = k₁//2 + (L−1)·k//2 columns of j on either side, and R pixels to its left: every
earlier pixel within reach.

Objective (exact negative log-likelihood, nats per image, mean over the batch):

    L = −E_x Σ_ij [x_ij l_ij − softplus(l_ij)].

Paper: A. van den Oord, N. Kalchbrenner, O. Vinyals, L. Espeholt, A. Graves,
K. Kavukcuoglu (2016), "Conditional Image Generation with PixelCNN Decoders", NeurIPS
(Fig. 2: one gated layer).

Deviations: unconditional (no class or embedding term h in the gates); one binary channel
with a Bernoulli output instead of 256-way colour channels; the vertical-to-horizontal
link takes the shifted pre-activation as in the paper's figure, but the first layer is a
plain gated layer with no residual (its input has one channel). The default depth, 8
layers, gives R = 9: every column of an 8×8 image (4 layers, R = 5, were ~1 nat per
image worse on a validation split of the digits).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.autoregressive.base import AutoregressiveImageModel
from minigen.nn import Conv2d, Module, Sequential
from minigen.nn.masked_conv import PixelLogitHead, shift_down


def gate(pre_activation: Tensor) -> Tensor:
    """tanh(a) ⊙ σ(b) with (a, b) the two channel halves of ``pre_activation``."""
    a, b = ag.split(pre_activation, 2, axis=1)
    return ag.tanh(a) * ag.sigmoid(b)  # y = tanh(W_f ⋆ u) ⊙ σ(W_g ⋆ u)


class GatedLayer(Module):
    """One gated layer: (v, h) -> (gated v, gated h before the residual).

    v, h : (N, in_channels, H, W) -> two (N, channels, H, W).
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        mask_type: str,
        *,
        rng: np.random.Generator,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0 or mask_type not in ("A", "B"):
            raise ValueError(
                f"GatedLayer: kernel_size must be odd and mask_type 'A' or 'B'; got "
                f"{kernel_size} and {mask_type!r}"
            )
        self.reach = kernel_size // 2
        self.vertical = Conv2d(in_channels, 2 * channels, (self.reach + 1, kernel_size), rng=rng)
        self.horizontal = Conv2d(in_channels, 2 * channels, (1, self.reach + 1), rng=rng)
        self.link = Conv2d(2 * channels, 2 * channels, 1, rng=rng)
        self.out = Conv2d(channels, channels, 1, rng=rng)
        mask = np.ones((1, 1, 1, self.reach + 1), dtype=np.float32)
        if mask_type == "A":
            mask[..., -1] = 0  # the last tap is the pixel itself
        self.register_buffer("horizontal_mask", mask)

    def forward(self, v: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        s = self.reach
        # vertical: rows i − s … i, columns j − s … j + s
        v_pre = self.vertical(ag.pad(v, ((0, 0), (0, 0), (s, 0), (s, s))))
        # horizontal: row i, columns j − s … j (j itself masked in type A)
        h_padded = ag.pad(h, ((0, 0), (0, 0), (0, 0), (s, 0)))
        h_pre = ag.conv2d(h_padded, self.horizontal.weight * self.horizontal_mask,
                          self.horizontal.bias)
        # the vertical features reach row i: shifted down, (i, j) gets rows < i only
        h_pre = h_pre + self.link(shift_down(v_pre))
        return gate(v_pre), self.out(gate(h_pre))


class GatedPixelCNN(AutoregressiveImageModel):
    """Gated PixelCNN for binary images.

    Parameters
    ----------
    data_shape : (1, H, W)
    rng : draws the initial weights
    channels : channels of both stacks
    first_kernel : k of the first layer (odd)
    kernel_size : k of the later layers (odd)
    num_layers : number of gated layers (the first included)
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        channels: int = 16,
        first_kernel: int = 5,
        kernel_size: int = 3,
        num_layers: int = 8,
    ) -> None:
        super().__init__()
        self.data_shape = self.check_data_shape(data_shape, "GatedPixelCNN")
        if num_layers < 1:
            raise ValueError(f"GatedPixelCNN: num_layers must be ≥ 1; got {num_layers}")
        layers = [GatedLayer(1, channels, first_kernel, "A", rng=rng)]
        layers += [GatedLayer(channels, channels, kernel_size, "B", rng=rng)
                   for _ in range(num_layers - 1)]
        self.layers = Sequential(*layers)
        self.head = PixelLogitHead(channels, rng=rng)

    def logits(self, x: Any) -> Tensor:
        """l_ij from x_<ij only. x : (N, 1, H, W) -> (N, 1, H, W)."""
        x = self.images(x)
        v, h = self.layers[0](x, x)
        for index in range(1, len(self.layers)):
            v, h_update = self.layers[index](v, h)
            h = h + h_update  # residual horizontal stack
        return self.head(h)
