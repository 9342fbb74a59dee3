"""Networks that take (x_t, t[, y]) and return ε̂ (or class logits): the only learned part.

* :class:`TimeMLP` for 2-D toy points: x → Linear, plus an MLP of the sinusoidal e(t)
  (and a label embedding) added before every hidden layer.
* :class:`UNet` for 8×8 digits (Ho et al., 2020, App. B, shrunk): residual blocks of
  GroupNorm → SiLU → 3×3 conv with the step embedding added between the two convs; one
  stride-2 downsampling to 4×4, optional self-attention there, skips concatenated on the
  way up; the output conv starts at zero so ε̂ = 0 at initialisation.
* :class:`NoisyClassifier`: the U-Net's downward half with a pooled linear head, p(y | x_t, t),
  for classifier guidance (Dhariwal & Nichol, 2021).

Labels: ``num_classes`` > 0 adds ``Embedding(num_classes + 1, ·)`` to the step embedding;
the extra row ``num_classes`` is the "no label" token of classifier-free guidance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.nn import (
    Conv2d,
    Embedding,
    GroupNorm,
    Linear,
    Module,
    MultiheadAttention,
    Sequential,
    SiLU,
    timestep_embedding,
)


class _Conditioning(Module):
    """e = MLP(sinusoid(t)) [+ Embedding(y)]: (N,) steps and labels -> (N, dim)."""

    def __init__(self, dim: int, num_classes: int, rng: np.random.Generator) -> None:
        super().__init__()
        self.dim, self.num_classes = dim, num_classes
        self.mlp = Sequential(Linear(dim, dim, rng=rng), SiLU(), Linear(dim, dim, rng=rng))
        if num_classes:
            self.label = Embedding(num_classes + 1, dim, rng=rng)

    def forward(self, t: np.ndarray, y: np.ndarray | None) -> Tensor:
        t = np.asarray(t)
        embedding = self.mlp(timestep_embedding(t, self.dim))
        if self.num_classes:
            if y is None:
                y = np.full(len(t), self.num_classes)  # the "no label" token
            embedding = embedding + self.label(np.asarray(y, dtype=np.int64))
        elif y is not None:
            raise ValueError("this network was built with num_classes=0; it takes no y")
        return embedding


class TimeMLP(Module):
    """(x (N, D), t (N,), y (N,) or None) -> (N, out_features)."""

    def __init__(self, in_features: int, out_features: int, *, rng: np.random.Generator,
                 hidden: int = 128, num_layers: int = 3, num_classes: int = 0) -> None:
        super().__init__()
        self.conditioning = _Conditioning(hidden, num_classes, rng)
        self.input = Linear(in_features, hidden, rng=rng)
        self.layers = Sequential(*[Linear(hidden, hidden, rng=rng) for _ in range(num_layers)])
        self.output = Linear(hidden, out_features, rng=rng)
        self.act = SiLU()

    def forward(self, x: Any, t: np.ndarray, y: np.ndarray | None = None) -> Tensor:
        condition = self.conditioning(t, y)
        h = self.input(x)
        for layer in self.layers:
            h = self.act(layer(self.act(h + condition)))  # h ← SiLU(W SiLU(h + e) + b)
        return self.output(h)


class ResidualBlock(Module):
    """x + conv(SiLU(GN(conv(SiLU(GN(x))) + W e))) (a 1×1 conv on x if channels change)."""

    def __init__(self, in_channels: int, out_channels: int, embed_dim: int, groups: int,
                 rng: np.random.Generator) -> None:
        super().__init__()
        self.norm1 = GroupNorm(groups, in_channels)
        self.conv1 = Conv2d(in_channels, out_channels, 3, padding=1, rng=rng)
        self.embed = Linear(embed_dim, out_channels, rng=rng)
        self.norm2 = GroupNorm(groups, out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, rng=rng)
        self.skip = (Conv2d(in_channels, out_channels, 1, rng=rng)
                     if in_channels != out_channels else None)
        self.act = SiLU()

    def forward(self, x: Tensor, embedding: Tensor) -> Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        h = h + self.embed(self.act(embedding)).reshape(h.shape[0], h.shape[1], 1, 1)
        h = self.conv2(self.act(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class AttentionBlock(Module):
    """x + MHA(GN(x)) over the H·W positions as tokens (Ho et al. use it at 16×16)."""

    def __init__(self, channels: int, groups: int, rng: np.random.Generator,
                 num_heads: int = 1) -> None:
        super().__init__()
        self.norm = GroupNorm(groups, channels)
        self.attention = MultiheadAttention(channels, num_heads, rng=rng)

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        tokens = self.norm(x).reshape(batch, channels, height * width).transpose(0, 2, 1)
        attended, _ = self.attention(tokens, tokens, tokens, need_weights=False)
        return x + attended.transpose(0, 2, 1).reshape(batch, channels, height, width)


class UNet(Module):
    """ε̂(x_t, t, y) for images (N, C, H, W) with even H, W; two resolutions H and H/2."""

    def __init__(self, in_channels: int, *, rng: np.random.Generator, channels: int = 32,
                 attention: bool = True, num_classes: int = 0, groups: int = 8) -> None:
        super().__init__()
        wide, embed = 2 * channels, 4 * channels
        self.conditioning = _Conditioning(embed, num_classes, rng)
        self.conv_in = Conv2d(in_channels, channels, 3, padding=1, rng=rng)
        self.down_high = ResidualBlock(channels, channels, embed, groups, rng)
        self.downsample = Conv2d(channels, channels, 3, stride=2, padding=1, rng=rng)
        self.down_low = ResidualBlock(channels, wide, embed, groups, rng)
        self.middle = ResidualBlock(wide, wide, embed, groups, rng)
        self.attention = AttentionBlock(wide, groups, rng) if attention else None
        self.up_low = ResidualBlock(2 * wide, wide, embed, groups, rng)
        self.upsample = Conv2d(wide, channels, 3, padding=1, rng=rng)
        self.up_high = ResidualBlock(2 * channels, channels, embed, groups, rng)
        self.norm_out = GroupNorm(groups, channels)
        self.conv_out = Conv2d(channels, in_channels, 3, padding=1, rng=rng)
        self.conv_out.weight.data[...] = 0  # ε̂ = 0 at the start (Ho et al.)
        self.conv_out.bias.data[...] = 0
        self.act = SiLU()

    def forward(self, x: Any, t: np.ndarray, y: np.ndarray | None = None) -> Tensor:
        x = ag.as_tensor(x)
        if x.ndim != 4 or x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError(f"UNet: x must be (N, C, H, W) with even H and W, got {x.shape}")
        embedding = self.conditioning(t, y)
        high = self.down_high(self.conv_in(x), embedding)  # (N, c, H, W)
        low = self.down_low(self.downsample(high), embedding)  # (N, 2c, H/2, W/2)
        h = self.middle(low, embedding)
        if self.attention is not None:
            h = self.attention(h)
        h = self.up_low(ag.concat([h, low], axis=1), embedding)
        h = self.upsample(ag.upsample_nearest(h, 2))
        h = self.up_high(ag.concat([h, high], axis=1), embedding)
        return self.conv_out(self.act(self.norm_out(h)))


class NoisyClassifier(Module):
    """logits of p(y | x_t, t) for images: the U-Net's downward half, mean-pooled, Linear."""

    def __init__(self, in_channels: int, num_classes: int, *, rng: np.random.Generator,
                 channels: int = 32, groups: int = 8) -> None:
        super().__init__()
        wide, embed = 2 * channels, 4 * channels
        self.conditioning = _Conditioning(embed, 0, rng)
        self.conv_in = Conv2d(in_channels, channels, 3, padding=1, rng=rng)
        self.high = ResidualBlock(channels, channels, embed, groups, rng)
        self.downsample = Conv2d(channels, channels, 3, stride=2, padding=1, rng=rng)
        self.low = ResidualBlock(channels, wide, embed, groups, rng)
        self.norm_out = GroupNorm(groups, wide)
        self.head = Linear(wide, num_classes, rng=rng)
        self.act = SiLU()

    def forward(self, x: Any, t: np.ndarray) -> Tensor:
        embedding = self.conditioning(t, None)
        h = self.high(self.conv_in(ag.as_tensor(x)), embedding)
        h = self.low(self.downsample(h), embedding)
        return self.head(self.act(self.norm_out(h)).mean(axis=(2, 3)))  # (N, classes) logits


def build_denoiser(data_shape: tuple[int, ...], rng: np.random.Generator, *, width: int,
                   hidden: int, attention: bool, num_classes: int = 0) -> Module:
    """A :class:`TimeMLP` of ``hidden`` units for vectors (D,), a :class:`UNet` of ``width``
    base channels for images (C, H, W)."""
    if len(data_shape) == 1:
        return TimeMLP(data_shape[0], data_shape[0], rng=rng, hidden=hidden,
                       num_classes=num_classes)
    if len(data_shape) == 3:
        return UNet(data_shape[0], rng=rng, channels=width, attention=attention,
                    num_classes=num_classes)
    raise ValueError(f"data_shape must be (D,) or (C, H, W), got {data_shape}")


def build_classifier(data_shape: tuple[int, ...], num_classes: int, rng: np.random.Generator,
                     *, width: int, hidden: int) -> Module:
    """p(y | x_t, t): a :class:`TimeMLP` of ``hidden`` units with class logits for vectors, a
    :class:`NoisyClassifier` of ``width`` channels for images."""
    if len(data_shape) == 1:
        return TimeMLP(data_shape[0], num_classes, rng=rng, hidden=hidden)
    if len(data_shape) == 3:
        return NoisyClassifier(data_shape[0], num_classes, rng=rng, channels=width)
    raise ValueError(f"data_shape must be (D,) or (C, H, W), got {data_shape}")
