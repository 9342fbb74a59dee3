"""The U-Net generator of image-to-image translation (Isola et al. 2017, §3.2.1), at 8×8.

An encoder–decoder whose decoder also receives, by concatenation, the encoder's features
at the same resolution ("skip connections", Ronneberger et al. 2015): in translation the
input and output share their structure (edges, stroke positions), and the skips carry it
across without squeezing it through the bottleneck. (The diffusion U-Net, which also takes
a timestep, is ``minigen.models.diffusion.denoisers.UNet``.)

Scaled to 8×8 with C = ``channels``, x : (N, in, 8, 8):

    down: x  → Conv(C, k4 s2 p1) → LeakyReLU(0.2)        e₁ : (N, C, 4, 4)
          e₁ → Conv(2C, k4 s2 p1) → LeakyReLU(0.2)       e₂ : (N, 2C, 2, 2)  bottleneck
    up:   e₂ → ConvT(C, k4 s2 p1) → ReLU → Dropout(p)    d₁ : (N, C, 4, 4)
          [d₁, e₁] → ConvT(out, k4 s2 p1) → tanh          y : (N, out, 8, 8) in [−1, 1]

Dropout is the generator's noise: pix2pix found a noise input z ignored by the generator,
and uses dropout in the decoder instead (p = 0.5; ``dropout`` = 0 gives a deterministic
map, as CycleGAN's generators are). As in the paper the outermost level has no skip.

Deviations: two levels instead of eight (8×8 images), no BatchNorm (see ``patchgan.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .activations import LeakyReLU, ReLU, Tanh
from .dropout import Dropout
from .layers import Conv2d, ConvTranspose2d
from .module import Module

KERNEL, STRIDE, PADDING = 4, 2, 1  # every level halves (down) or doubles (up) the side


class UNetGenerator(Module):
    """UNetGenerator(in_channels, out_channels, channels=32, dropout=0.5, *, rng).

    forward(x, rng) : (N, in_channels, H, W) -> (N, out_channels, H, W) in [−1, 1], H and W
    multiples of 4 (8×8 digits). ``rng`` draws the dropout masks in training mode.
    """

    draws = True  # a Sequential hands it rng (its dropout draws)

    def __init__(self, in_channels: int, out_channels: int, channels: int = 32,
                 dropout: float = 0.5, *, rng: np.random.Generator) -> None:
        super().__init__()
        c = int(channels)
        if c < 1 or int(in_channels) < 1 or int(out_channels) < 1:
            raise ValueError(f"UNetGenerator: channel counts must be >= 1, got in_channels="
                             f"{in_channels}, out_channels={out_channels}, channels={channels}")
        self.down1 = Conv2d(in_channels, c, KERNEL, STRIDE, PADDING, rng=rng)  # 8×8 -> 4×4
        self.down2 = Conv2d(c, 2 * c, KERNEL, STRIDE, PADDING, rng=rng)  # 4×4 -> 2×2
        self.up1 = ConvTranspose2d(2 * c, c, KERNEL, STRIDE, PADDING, rng=rng)  # 2×2 -> 4×4
        self.up2 = ConvTranspose2d(2 * c, out_channels, KERNEL, STRIDE, PADDING,
                                   rng=rng)  # [d₁, e₁] 4×4 -> 8×8
        self.leaky, self.relu, self.tanh = LeakyReLU(0.2), ReLU(), Tanh()
        self.dropout = Dropout(dropout)

    def forward(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        x = ag.as_tensor(x)
        if x.ndim != 4 or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"UNetGenerator: x must be (N, C, H, W) with H and W multiples "
                             f"of 4, got shape {x.shape}")
        e1 = self.leaky(self.down1(x))
        e2 = self.leaky(self.down2(e1))
        d1 = self.dropout(self.relu(self.up1(e2)), rng)  # dropout: the generator's noise
        return self.tanh(self.up2(ag.concat([d1, e1], axis=1)))  # skip: concat with e₁
