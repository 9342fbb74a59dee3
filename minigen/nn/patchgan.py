"""The PatchGAN discriminator (Isola et al. 2017, §3.2.2), shared by pix2pix and CycleGAN.

Idea. Instead of one real/fake logit per image, a fully convolutional discriminator outputs
a *grid* of logits, each judging one N×N patch of its input: the high frequencies (sharp
strokes) are local, and the L1 term already takes care of the low ones. Averaging the
grid's losses treats the image as a Markov random field of independent patches.

The patch a logit sees is its receptive field, computed backwards from one output unit
through layers of kernel k and stride s (padding moves the window but not its size):

    r_L = 1,   r_{l−1} = (r_l − 1)·s_l + k_l,   receptive field = r_0;

the grid is computed forwards, size_l = ⌊(size_{l−1} + 2p_l − k_l) / s_l⌋ + 1.
The paper's 70×70 PatchGAN (three k4 s2 convolutions, then two k4 s1) gives
1 → 4 → 7 → 16 → 34 → 70.

Layers here: ``num_layers`` convolutions Conv(k4, s2, p1) + LeakyReLU(0.2), widths
C, 2C, 4C, …, each halving the grid, then a 1×1 convolution to one logit per position:

    num_layers   grid on 8×8   receptive field
    0            8×8           1   (the paper's "PixelGAN")
    1            4×4           4   (the default: 4×4 patches, half the digit's side)
    2            2×2           10
    3            1×1           22  (an "ImageGAN": one logit sees the whole digit)

Deviations from the paper: no normalisation layers (BatchNorm on a 4×4 grid of 8×8 digits
adds batch dependence for nothing a network this small needs), and a 1×1 head in place of
the k4 s1 layers, which would shrink an 8×8 grid to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.conv import int_pair

from .activations import LeakyReLU
from .layers import Conv2d
from .module import Module, Sequential

KERNEL, STRIDE, PADDING = 4, 2, 1  # every downsampling layer of the PatchGAN here


def receptive_field(kernel_sizes: Sequence[int], strides: Sequence[int]) -> int:
    """The side of the input patch one output unit sees: r ← (r − 1)·s + k, last layer first.

    kernel_sizes, strides : one entry per layer, input layer first (k ≥ 1, s ≥ 1).
    """
    if len(kernel_sizes) != len(strides):
        raise ValueError(f"receptive_field: {len(kernel_sizes)} kernel sizes but "
                         f"{len(strides)} strides; give one of each per layer")
    field = 1
    for kernel, stride in zip(reversed(kernel_sizes), reversed(strides)):
        if kernel < 1 or stride < 1:
            raise ValueError(f"receptive_field: kernel sizes and strides must be >= 1, got "
                             f"k={kernel}, s={stride}")
        field = (field - 1) * stride + kernel  # r_{l−1} = (r_l − 1)·s_l + k_l
    return field


def output_size(size: int, kernel_sizes: Sequence[int], strides: Sequence[int],
                paddings: Sequence[int]) -> int:
    """The grid side after the layers: size ← ⌊(size + 2p − k) / s⌋ + 1, first layer first."""
    for kernel, stride, padding in zip(kernel_sizes, strides, paddings, strict=True):
        size = (size + 2 * padding - kernel) // stride + 1
        if size < 1:
            raise ValueError(f"output_size: the input is too small for k={kernel}, "
                             f"s={stride}, p={padding} (the grid would be empty)")
    return size


class PatchGAN(Module):
    """PatchGAN(in_channels, channels=32, num_layers=1, *, rng): images -> a grid of logits.

    forward(x) : (N, in_channels, H, W) -> logits (N, 1, H / 2^num_layers, W / 2^num_layers),
    each logit a real/fake score of one ``receptive_field`` × ``receptive_field`` patch
    (4×4 for the default on 8×8 digits; see the module docstring for other depths).
    """

    def __init__(self, in_channels: int, channels: int = 32, num_layers: int = 1, *,
                 rng: np.random.Generator) -> None:
        super().__init__()
        if int(num_layers) < 0 or int(channels) < 1 or int(in_channels) < 1:
            raise ValueError(f"PatchGAN: need in_channels >= 1, channels >= 1 and "
                             f"num_layers >= 0; got {in_channels}, {channels}, {num_layers}")
        self.num_layers = int(num_layers)
        layers: list[Module] = []
        width_in = int(in_channels)
        for index in range(self.num_layers):
            width_out = int(channels) * 2 ** index
            layers += [Conv2d(width_in, width_out, KERNEL, STRIDE, PADDING, rng=rng),
                       LeakyReLU(0.2)]
            width_in = width_out
        self.body = Sequential(*layers)
        self.head = Conv2d(width_in, 1, 1, rng=rng)  # one logit per grid position

    def layer_geometry(self) -> tuple[list[int], list[int], list[int]]:
        """(kernel sizes, strides, paddings) of the convolutions, input layer first."""
        convs = [m for m in (*self.body, self.head) if isinstance(m, Conv2d)]
        return ([c.kernel_size[0] for c in convs],
                [int_pair(c.stride, "stride")[0] for c in convs],
                [int_pair(c.padding, "padding")[0] for c in convs])

    @property
    def receptive_field(self) -> int:
        """The side of the patch each logit judges."""
        kernels, strides, _ = self.layer_geometry()
        return receptive_field(kernels, strides)

    def grid_size(self, size: int) -> int:
        """The side of the logit grid for inputs of side ``size``."""
        return output_size(size, *self.layer_geometry())

    def forward(self, x: Any) -> Tensor:
        return self.head(self.body(x))

    def extra_repr(self) -> str:
        return f"num_layers={self.num_layers}, receptive_field={self.receptive_field}"
