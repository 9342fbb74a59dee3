"""Shared pieces of the autoregressive image models (PixelCNN, Gated PixelCNN, PixelRNN).

An autoregressive image model factorises an H×W binary image in raster order (row by row,
left to right) by the chain rule,

    p(x) = Π_{i,j} p(x_ij | x_<ij),    p(x_ij = 1 | x_<ij) = σ(l_ij),

and computes every logit l_ij in one pass over the whole image. The pass is correct only
if l_ij never depends on x_ij or any later pixel; the pieces here build that guarantee and
let a test check it:

* :func:`causal_mask` and :class:`MaskedConv2d`: a convolution whose kernel keeps only the
  taps before its centre in raster order (type "A") or before and at it (type "B")
  (van den Oord, Kalchbrenner & Kavukcuoglu, 2016, "Pixel Recurrent Neural Networks");
* :func:`shift_down`, :func:`shift_right`: move a feature map one row down / one column right;
* :func:`skew`, :func:`unskew`: shift row r right by r, so the diagonals of an image
  become columns (the Diagonal BiLSTM's trick); composed from pad, reshape and slicing,
  so they are differentiable with no VJP of their own;
* (the raster sampler and the models' shared base live with the models, in
  ``minigen/models/autoregressive/base.py``);
* :func:`influence_map`: which input pixels reach logit (i, j), read off the Jacobian
  computed by autograd (for tests and receptive-field plots).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .layers import Conv2d
from .module import Module

MASK_TYPES = ("A", "B")


def causal_mask(kernel_size: tuple[int, int], mask_type: str) -> np.ndarray:
    """The (kh, kw) 0/1 mask keeping the taps before the kernel's centre in raster order.

    Type "A" drops the centre too (a first layer must not see the pixel it predicts);
    type "B" keeps it (later layers' centre features already exclude that pixel).
    """
    kh, kw = kernel_size
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}; got {mask_type!r}")
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"kernel_size must be odd in both directions; got {kernel_size}")
    rows = np.arange(kh)[:, None] - kh // 2  # tap offset (di, dj) from the centre
    cols = np.arange(kw)[None, :] - kw // 2
    before = (rows < 0) | ((rows == 0) & (cols < 0))
    if mask_type == "B":
        before = before | ((rows == 0) & (cols == 0))
    return before.astype(np.float32)


class MaskedConv2d(Conv2d):
    """A "same"-padded convolution whose kernel sees only the raster-order past.

    x : (N, in_channels, H, W) -> (N, out_channels, H, W). The mask is a buffer
    multiplied into the weight in every forward, so the masked taps stay out of the
    output whatever their value and receive exactly zero gradient.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        mask_type: str,
        bias: bool = True,
        *,
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> None:
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        mask = causal_mask(tuple(kernel), mask_type)
        padding = (kernel[0] // 2, kernel[1] // 2)
        super().__init__(in_channels, out_channels, kernel, padding=padding, bias=bias,
                         rng=rng, dtype=dtype)
        self.mask_type = mask_type
        self.register_buffer("mask", mask[None, None].astype(dtype))

    def forward(self, x: Any) -> Tensor:
        # y = (W ⊙ M) ⋆ x + b
        return ag.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mask_type={self.mask_type!r}"


class PixelCNNResidualBlock(Module):
    """h + W₃ ⋆ ReLU(W₂^B ⋆ ReLU(W₁ ⋆ ReLU(h))): 1×1 down, k×k type-B, 1×1 up (Fig. 5).

    The PixelCNN residual block (van den Oord et al. 2016, Fig. 5), shared by the PixelCNN
    and the VQ-VAE's code prior."""

    def __init__(self, channels: int, kernel_size: int, *, rng: np.random.Generator) -> None:
        super().__init__()
        self.reduce = Conv2d(2 * channels, channels, 1, rng=rng)
        self.masked = MaskedConv2d(channels, channels, kernel_size, "B", rng=rng)
        self.expand = Conv2d(channels, 2 * channels, 1, rng=rng)

    def forward(self, h: Tensor) -> Tensor:
        inner = self.masked(ag.relu(self.reduce(ag.relu(h))))
        return h + self.expand(ag.relu(inner))


class PixelLogitHead(Module):
    """The output of every pixel model: logits = W₂ ⋆ ReLU(W₁ ⋆ ReLU(h)) with 1×1 kernels.

    A 1×1 convolution mixes channels at one position only, so it keeps the causality of
    the features it reads. channels -> channels -> one logit per pixel.
    """

    def __init__(self, channels: int, *, rng: np.random.Generator) -> None:
        super().__init__()
        self.hidden = Conv2d(channels, channels, 1, rng=rng)
        self.output = Conv2d(channels, 1, 1, rng=rng)

    def forward(self, h: Tensor) -> Tensor:
        return self.output(ag.relu(self.hidden(ag.relu(h))))


def shift_down(x: Any, rows: int = 1) -> Tensor:
    """out[..., r, :] = x[..., r − rows, :], zeros in the first ``rows`` rows. x : (N, C, H, W)."""
    x = ag.as_tensor(x)
    return ag.pad(x, ((0, 0), (0, 0), (rows, 0), (0, 0)))[:, :, : x.shape[2]]


def shift_right(x: Any, cols: int = 1) -> Tensor:
    """out[..., c] = x[..., c − cols], zeros in the first ``cols`` columns. x : (N, C, H, W)."""
    x = ag.as_tensor(x)
    return ag.pad(x, ((0, 0), (0, 0), (0, 0), (cols, 0)))[:, :, :, : x.shape[3]]


def skew(x: Any) -> Tensor:
    """Shift row r right by r: (N, C, H, W) -> (N, C, H, W + H − 1), out[r, r + c] = x[r, c].

    Pad each row with H zeros on the right and read the rows back one element shorter:
    row r then starts r elements later, which is the shift. Diagonal r + c = d of x
    becomes column d of the result.
    """
    x = ag.as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"skew: x must be (N, C, H, W); got shape {x.shape}")
    n, c, h, w = x.shape
    flat = ag.pad(x, ((0, 0), (0, 0), (0, 0), (0, h))).reshape(n, c, h * (w + h))
    return flat[:, :, : h * (w + h - 1)].reshape(n, c, h, w + h - 1)


def unskew(x: Any, width: int) -> Tensor:
    """Inverse of :func:`skew`: (N, C, H, width + H − 1) -> (N, C, H, width).

    out[r, c] = x[r, r + c]: append H zeros and read the rows back one element longer.
    """
    x = ag.as_tensor(x)
    if x.ndim != 4 or x.shape[3] != width + x.shape[2] - 1:
        raise ValueError(
            f"unskew: x must be (N, C, H, width + H − 1) = (·, ·, H, {width} + H − 1); "
            f"got shape {x.shape}"
        )
    n, c, h, skewed_width = x.shape
    flat = ag.pad(x.reshape(n, c, h * skewed_width), ((0, 0), (0, 0), (0, h)))
    return flat.reshape(n, c, h, width + h)[:, :, :, :width]


def influence_map(
    model: Any,
    i: int,
    j: int,
    shape: tuple[int, int],
    rng: np.random.Generator | None = None,
    num_inputs: int = 4,
) -> np.ndarray:
    """Which input pixels influence logit (i, j): the support of ∂l_ij/∂x, through autograd.

    ``model.logits`` maps (N, 1, H, W) to (N, 1, H, W). The Jacobian row is taken at
    ``num_inputs`` random inputs in [0, 1] (a tap can vanish at one point, e.g. behind a
    ReLU, but hardly at all of them). Returns a bool array of ``shape`` (H, W).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    height, width = shape
    if not (0 <= i < height and 0 <= j < width):
        raise ValueError(f"influence_map: pixel ({i}, {j}) is outside an image of shape {shape}")
    dtype = model.parameters()[0].dtype
    x = Tensor(rng.random((num_inputs, 1, height, width)).astype(dtype), requires_grad=True)
    logits = model.logits(x)
    (jacobian_row,) = ag.grad(logits[:, 0, i, j].sum(), [x], allow_unused=True)
    return np.any(jacobian_row.data[:, 0] != 0, axis=0)
