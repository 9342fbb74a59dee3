"""The layers of Progressive GAN and StyleGAN: equalised learning rate, pixel-norm, the
minibatch standard deviation, AdaIN, modulated/demodulated convolution, per-pixel noise and
the truncation trick.

Equalised learning rate (Karras et al. 2018, §4.1). A layer stores w ~ N(0, 1) and uses
the effective weight ŵ = c·w with c = √(gain / fan_in) (He's constant; gain 2 before a
(leaky) ReLU, 1 before a linear output), recomputed at every forward. Adam's update of w
has a size ≈ lr whatever the gradient's scale, so ŵ moves by ≈ c·lr: every layer learns
at the same speed relative to its own weights. Since ŵ = c·w, ∂L/∂w = c·∂L/∂ŵ.

Learning-rate multiplier (StyleGAN's mapping network, Karras et al. 2019, §C, "λ' =
0.01·λ"): with ``lr_multiplier`` = μ the layer stores w ~ N(0, 1/μ²) and b₀/μ and uses
ŵ = μ·c·w and b̂ = μ·b. The effective weights start as without μ (ŵ ~ N(0, c²)), but an
Adam step of size lr on w moves ŵ by μ·c·lr: the layer learns μ times as fast, with no
separate optimiser. (So the stored weights are N(0, 1) only for μ = 1.)

Pixel-norm (2018, §4.2): b = a / √(mean_c a² + ε) at every pixel, so each feature vector
has unit mean square.

Minibatch standard deviation (2018, §3): the standard deviation of every feature at every
pixel over a group of examples, averaged into one number s per group and appended as an
extra constant feature map, so the discriminator can see how varied a batch is.

AdaIN (2019, eq. 1): AdaIN(x, y) = y_s·(x − μ(x))/σ(x) + y_b per example and channel, μ
and σ over the pixels: StyleGAN 1's style operation. The style (y_s, y_b) is a learned
affine map A of w, with y_s = 1 + A_s(w) so an untrained layer starts near the identity
scale (as the reference code does).

Modulation/demodulation (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN", §2.2), StyleGAN 2's replacement for AdaIN: the style s = A(w) (bias initialised
to 1) scales the convolution's weights per input channel, w'_oik = s_i·w_oik, and each
output channel's weights are then divided by their norm, w''_oik = w'_oik/√(Σ_ik w'_oik² + ε),
so unit-variance input gives unit-variance output. It normalises by what the statistics
*should* be rather than by the measured statistics of each feature map, so the generator
gains nothing by planting local spikes that dominate a map's mean and variance (the
"droplet" artefacts of AdaIN that section 2 describes); on 4×4 and 8×8 maps, where a few
pixels decide the instance statistics, such speckle was the main artefact of minigen's
AdaIN StyleGAN (``minigen/models/adversarial/stylegan.py`` gives the numbers).

Noise (2019, §3.2): per-pixel N(0, 1) noise, one map per layer shared by its channels,
added with a learned per-channel scale B (initialised to 0).

Truncation (2019, §3.1 and appendix B): w' = w̄ + ψ(w − w̄), with w̄ the mean of w.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd.conv import int_pair
from minigen.checks import check_rng

from .module import Module, Parameter

PIXEL_NORM_EPS = 1e-8
INSTANCE_NORM_EPS = 1e-8
STDDEV_EPS = 1e-8
DEMODULATION_EPS = 1e-8


def _check_positive(owner: str, name: str, value: float) -> float:
    if not value > 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {value!r}")
    return float(value)


class EqualizedLinear(Module):
    """y = x ŵᵀ + b̂ with ŵ = μ·c·w, c = √(gain / in_features), b̂ = μ·b.

    x : (..., in_features) -> (..., out_features); ``weight`` (out, in) stores w ~ N(0, 1/μ²).

    Parameters
    ----------
    gain : 2 before a (leaky) ReLU, 1 before a linear output
    lr_multiplier : μ, the layer learns μ times as fast (StyleGAN's mapping uses 0.01)
    bias_init : the effective bias b̂ at initialisation
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 gain: float = 2.0, lr_multiplier: float = 1.0, bias_init: float = 0.0,
                 rng: np.random.Generator, dtype: Any = np.float32) -> None:
        super().__init__()
        check_rng("EqualizedLinear", rng)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.gain = _check_positive("EqualizedLinear", "gain", gain)
        self.lr_multiplier = _check_positive("EqualizedLinear", "lr_multiplier", lr_multiplier)
        self.scale = self.lr_multiplier * np.sqrt(self.gain / self.in_features)  # μ·c
        weight = rng.standard_normal((self.out_features, self.in_features)) / self.lr_multiplier
        self.weight = Parameter(weight.astype(dtype))
        self.bias = (Parameter(np.full(self.out_features, bias_init / self.lr_multiplier,
                                       dtype=dtype)) if bias else None)

    def effective_weight(self) -> Tensor:
        """ŵ = μ·c·w, (out, in): recomputed from the stored w at every call."""
        return self.weight * self.scale

    def forward(self, x: Any) -> Tensor:
        x = ag.as_tensor(x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"EqualizedLinear({self.in_features}, {self.out_features}): input "
                             f"has shape {x.shape}, expected last dimension {self.in_features}")
        out = x @ self.effective_weight().T
        return out + self.bias * self.lr_multiplier if self.bias is not None else out

    def extra_repr(self) -> str:
        return (f"{self.in_features}, {self.out_features}, gain={self.gain:g}, "
                f"lr_multiplier={self.lr_multiplier:g}")


class EqualizedConv2d(Module):
    """conv2d(x, ŵ) + b̂ with ŵ = μ·c·w, c = √(gain / (in·kh·kw)), b̂ = μ·b.

    x : (N, in, H, W) -> (N, out, Ho, Wo); ``weight`` (out, in, kh, kw) stores w ~ N(0, 1/μ²).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any,
                 stride: Any = 1, padding: Any = 0, bias: bool = True, *, gain: float = 2.0,
                 lr_multiplier: float = 1.0, rng: np.random.Generator,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        check_rng("EqualizedConv2d", rng)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = int_pair(kernel_size, "kernel_size")
        self.stride, self.padding = stride, padding
        self.gain = _check_positive("EqualizedConv2d", "gain", gain)
        self.lr_multiplier = _check_positive("EqualizedConv2d", "lr_multiplier", lr_multiplier)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.scale = self.lr_multiplier * np.sqrt(self.gain / fan_in)  # μ·c
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter((rng.standard_normal(shape) / self.lr_multiplier).astype(dtype))
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None

    def effective_weight(self) -> Tensor:
        """ŵ = μ·c·w, (out, in, kh, kw)."""
        return self.weight * self.scale

    def forward(self, x: Any) -> Tensor:
        bias = None if self.bias is None else self.bias * self.lr_multiplier
        return ag.conv2d(x, self.effective_weight(), bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"padding={self.padding}, gain={self.gain:g}")


def pixel_norm(x: Any, eps: float = PIXEL_NORM_EPS) -> Tensor:
    """b = a / √(mean_c a² + ε) at every pixel: x : (N, C, ...) -> same shape."""
    x = ag.as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"pixel_norm: x must be (N, C, ...), got shape {x.shape}")
    return x / ag.sqrt((x * x).mean(axis=1, keepdims=True) + eps)


class PixelNorm(Module):
    """:func:`pixel_norm` as a layer."""

    def forward(self, x: Any) -> Tensor:
        return pixel_norm(x)


def minibatch_stddev(x: Any, group_size: int | None = None) -> Tensor:
    """x with one more channel: s = mean_{c,h,w} √(Var_group(x_chw) + ε), per group.

    x : (N, C, H, W) -> (N, C + 1, H, W). The variance is the biased one over the
    examples of a group (consecutive examples; ``group_size`` None: the whole batch, the
    paper's "over the minibatch"); every pixel of the new channel holds its group's s.
    """
    x = ag.as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"minibatch_stddev: x must be (N, C, H, W), got shape {x.shape}")
    n, c, h, w = x.shape
    size = n if group_size is None else int(group_size)
    if size < 1 or n % size:
        raise ValueError(f"minibatch_stddev: group_size {group_size} must divide the batch "
                         f"of {n} examples")
    grouped = x.reshape(n // size, size, c, h, w)
    centred = grouped - grouped.mean(axis=1, keepdims=True)
    std = ag.sqrt((centred * centred).mean(axis=1) + STDDEV_EPS)  # (groups, C, H, W)
    s = std.mean(axis=(1, 2, 3)).reshape(n // size, 1, 1, 1, 1)  # one number per group
    feature = ag.broadcast_to(s, (n // size, size, 1, h, w)).reshape(n, 1, h, w)
    return ag.concat([x, feature], axis=1)


def adain(x: Any, scale: Any, bias: Any, eps: float = INSTANCE_NORM_EPS) -> Tensor:
    """AdaIN(x, y) = y_s·(x − μ(x))/σ(x) + y_b, μ and σ per example and channel over pixels.

    x : (N, C, H, W); scale y_s, bias y_b : (N, C) -> (N, C, H, W). σ = √(Var + ε), the
    biased variance (instance normalisation).
    """
    x, scale, bias = ag.as_tensor(x), ag.as_tensor(scale), ag.as_tensor(bias)
    if x.ndim != 4 or scale.shape != x.shape[:2] or bias.shape != x.shape[:2]:
        raise ValueError(f"adain: x must be (N, C, H, W) and scale, bias (N, C); got x "
                         f"{x.shape}, scale {scale.shape}, bias {bias.shape}")
    centred = x - x.mean(axis=(2, 3), keepdims=True)
    normalised = centred / ag.sqrt((centred * centred).mean(axis=(2, 3), keepdims=True) + eps)
    n, c = x.shape[:2]
    return scale.reshape(n, c, 1, 1) * normalised + bias.reshape(n, c, 1, 1)


class AdaIN(Module):
    """The style block: (y_s − 1, y_b) = A(w), an equalised affine map; then
    :func:`adain`.  x : (N, C, H, W), w : (N, w_dim) -> (N, C, H, W)."""

    def __init__(self, channels: int, w_dim: int, *, rng: np.random.Generator,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.channels = int(channels)
        self.affine = EqualizedLinear(w_dim, 2 * self.channels, gain=1.0, rng=rng, dtype=dtype)

    def style(self, w: Any) -> tuple[Tensor, Tensor]:
        """(y_s, y_b), each (N, C): y_s = 1 + A_s(w), y_b = A_b(w)."""
        styles = self.affine(w)
        return 1.0 + styles[:, :self.channels], styles[:, self.channels:]

    def forward(self, x: Any, w: Any) -> Tensor:
        scale, bias = self.style(w)
        return adain(x, scale, bias)


def modulated_conv2d(x: Any, weight: Any, styles: Any, padding: Any = 0,
                     demodulate: bool = True, eps: float = DEMODULATION_EPS) -> Tensor:
    """StyleGAN 2's style operation: conv2d with the weights modulated and demodulated.

    x : (N, I, H, W); weight : (O, I, kh, kw), the (effective) shared kernel; styles s :
    (N, I) -> (N, O, Ho, Wo). Each example gets its own kernel

        w'_oik = s_i · w_oik                          (modulation: the style scales input i)
        w''_oik = w'_oik / √(Σ_{i,k} w'_oik² + ε)     (demodulation, per output channel o)

    so a unit-variance i.i.d. input gives a unit-variance output whatever the style: the
    style sets the channels' relative weights, not the scale of the activations.
    Computed without a per-example kernel, by the identity
    conv(x, w'') = d_o · conv(s ⊙ x, w) with d_o = 1/√(Σ_i s_i² Σ_k w_oik² + ε).
    ``demodulate`` False keeps w' (StyleGAN 2's toRGB layer).
    """
    x, weight, styles = ag.as_tensor(x), ag.as_tensor(weight), ag.as_tensor(styles)
    if (x.ndim != 4 or weight.ndim != 4 or styles.shape != x.shape[:2]
            or weight.shape[1] != x.shape[1]):
        raise ValueError(f"modulated_conv2d: x must be (N, I, H, W), weight (O, I, kh, kw) and "
                         f"styles (N, I); got x {x.shape}, weight {weight.shape}, styles "
                         f"{styles.shape}")
    n, channels_in = styles.shape
    out = ag.conv2d(x * styles.reshape(n, channels_in, 1, 1), weight, None, 1, padding)
    if not demodulate:
        return out
    kernel_energy = (weight * weight).sum(axis=(2, 3))  # Σ_k w_oik², (O, I)
    demodulation = 1.0 / ag.sqrt((styles * styles) @ kernel_energy.T + eps)  # d, (N, O)
    return out * demodulation.reshape(n, -1, 1, 1)


class ModulatedConv2d(Module):
    """A style layer of StyleGAN 2: s = A(w), an equalised affine map with bias 1, then
    :func:`modulated_conv2d` with an equalised kernel, plus a bias per output channel.

    x : (N, in, H, W), w : (N, w_dim) -> (N, out, H, W) (``padding`` = k // 2, same size).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, *,
                 demodulate: bool = True, rng: np.random.Generator,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.demodulate = bool(demodulate)
        # the kernel's own gain is 1: demodulation undoes any constant scale of it anyway
        self.conv = EqualizedConv2d(in_channels, out_channels, kernel_size,
                                    padding=int(kernel_size) // 2, gain=1.0, rng=rng,
                                    dtype=dtype)
        self.affine = EqualizedLinear(w_dim, in_channels, gain=1.0, bias_init=1.0, rng=rng,
                                      dtype=dtype)

    def forward(self, x: Any, w: Any) -> Tensor:
        conv = self.conv
        out = modulated_conv2d(x, conv.effective_weight(), self.affine(w), conv.padding,
                               self.demodulate)  # s = A(w), starting near 1
        return out + conv.bias.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"demodulate={self.demodulate}"


class NoiseInput(Module):
    """x + B·noise: per-pixel noise (N, 1, H, W) shared by the channels, B (C,) learned.

    x : (N, C, H, W) -> same shape; B starts at 0 (the reference code's choice).
    """

    def __init__(self, channels: int, *, dtype: Any = np.float32) -> None:
        super().__init__()
        self.weight = Parameter(np.zeros(int(channels), dtype=dtype))

    def forward(self, x: Any, noise: Any) -> Tensor:
        x, noise = ag.as_tensor(x), ag.as_tensor(noise)
        if noise.shape != (x.shape[0], 1, *x.shape[2:]):
            raise ValueError(f"NoiseInput: noise must have shape (N, 1, H, W) = "
                             f"{(x.shape[0], 1, *x.shape[2:])} for x {x.shape}, got {noise.shape}")
        return x + self.weight.reshape(1, -1, 1, 1) * noise


def truncate(w: Any, w_average: Any, psi: float) -> Any:
    """The truncation trick w' = w̄ + ψ(w − w̄): ψ = 1 is the identity, ψ = 0 gives w̄.

    w : (N, w_dim) (or any shape broadcasting against w̄); arrays in, arrays out, Tensors
    in, a Tensor out. Computed as ψ·w + (1 − ψ)·w̄, the same line written so that both
    ends hold exactly in floating point.
    """
    return psi * w + (1.0 - psi) * w_average
