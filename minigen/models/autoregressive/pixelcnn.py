"""PixelCNN: masked convolutions compute every conditional of the chain rule in one pass.

Idea. An image is generated pixel by pixel in raster order (row by row, left to right),

    p(x) = Π_{i,j} p(x_ij | x_<ij),    p(x_ij = 1 | x_<ij) = σ(l_ij).

A stack of convolutions computes all logits l_ij at once if no tap ever reaches a later
pixel: every kernel is multiplied by a mask that zeroes the taps below its centre and to
the right of it on the centre row. The first layer also zeroes the centre (type "A": l_ij
must not see x_ij); later layers keep it (type "B": the feature at (i, j) already
excludes x_ij). Training is one parallel pass; sampling needs H·W passes.

Objective (exact negative log-likelihood, nats per image, mean over the batch):

    L = −E_x Σ_ij [x_ij l_ij − softplus(l_ij)].

The blind spot. A type-B k×k kernel reaches up-right by k//2 columns per row, but on the
centre row it reaches left only. Stacking them, the region grows up and to the left, but
pixels up and to the right beyond the first layer's reach are never seen: the known blind
spot of PixelCNN, fixed by the Gated PixelCNN's two stacks (``gated_pixelcnn.py``).
``influence_map`` in ``minigen.nn.masked_conv`` shows it; a test checks it.

Paper: A. van den Oord, N. Kalchbrenner, K. Kavukcuoglu (2016), "Pixel Recurrent Neural
Networks", ICML — PixelCNN and its residual blocks (Fig. 5).

Deviations: one binary channel with a Bernoulli output instead of three 256-way colour
channels (so no colour-channel mask groups); 4 residual blocks instead of 15, with 5×5
kernels instead of 3×3 so the blind spot hides less of an 8×8 image (on a validation
split of the digits: 16.8–17.0 nats per image against 17.7–18.0 with 3×3 blocks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.models.autoregressive.base import AutoregressiveImageModel
from minigen.nn import Sequential
from minigen.nn.masked_conv import MaskedConv2d, PixelCNNResidualBlock, PixelLogitHead


class PixelCNN(AutoregressiveImageModel):
    """PixelCNN for binary images.

    Parameters
    ----------
    data_shape : (1, H, W)
    rng : draws the initial weights
    channels : h; the residual stream has 2h channels, the blocks work inside with h
    first_kernel : k of the type-A first layer (odd)
    kernel_size : k of the type-B convolutions inside the residual blocks (odd)
    num_blocks : number of residual blocks
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        channels: int = 16,
        first_kernel: int = 7,
        kernel_size: int = 5,
        num_blocks: int = 4,
    ) -> None:
        super().__init__()
        self.data_shape = self.check_data_shape(data_shape, "PixelCNN")
        self.first = MaskedConv2d(1, 2 * channels, first_kernel, "A", rng=rng)
        self.blocks = Sequential(
            *[PixelCNNResidualBlock(channels, kernel_size, rng=rng) for _ in range(num_blocks)]
        )
        self.head = PixelLogitHead(2 * channels, rng=rng)

    def logits(self, x: Any) -> Tensor:
        """l_ij from x_<ij only. x : (N, 1, H, W) -> (N, 1, H, W)."""
        h = self.first(self.images(x))  # type A: the centre pixel is not seen
        h = self.blocks(h)  # type B inside: the centre feature already excludes x_ij
        return self.head(h)  # 1×1 convs keep causality
