"""Progressive GAN (Karras, Aila, Laine & Lehtinen, 2018): grow the resolution, fading in.

Idea. Both networks start at the coarsest resolution and learn its large-scale structure;
then a block is added to each, and the resolution doubles. A new block does not switch on
at once: it is faded in over a phase, with α rising linearly from 0 to 1,

    G's output   = (1 − α)·upsample(toRGB_old(h)) + α·toRGB_new(block_new(upsample(h))),
    D's features = (1 − α)·fromRGB_old(downsample(x)) + α·downsample(block_new(fromRGB_new(x))),

so at α = 0 the grown networks compute exactly the old ones (on a nearest-neighbour
upsampled image), and at α = 1 exactly the new ones. A stabilising phase at α = 1
follows each fade. During a fade D's real images are blended the same way,
(1 − α)·upsample(downsample(x)) + α·x, so real and fake are equally blocky.

The game is WGAN-GP (Gulrajani et al. 2017) with the paper's drift term (§A.1),

    min_d  E d(G(z)) − E d(x) + λ E_x̂ (‖∇d(x̂)‖ − 1)² + ε_drift E d(x)²,    λ = 10, ε = 0.001
    min_G  −E d(G(z)),

one critic step per generator step, Adam with β = (0, 0.99) (the registry's players).

The paper's three stabilisers, all from ``minigen.nn.style``: equalised learning rate in
every layer (weights N(0, 1) scaled by √(2/fan_in) at every forward); pixel-norm after every
generator convolution (and on z); the minibatch standard deviation as an extra feature map
before the critic's last convolution. Samples come from an exponential moving average of
G's weights (decay 0.999 in the paper; 0.995 here, ``ema_decay``, for runs of ~2,000
steps).

The schedule. ``schedule_at(step)`` gives (stage, α): stage 0 (2×2) stabilises for
``stabilise_steps``, then each later stage fades for ``fade_steps`` and stabilises for
``stabilise_steps`` (the last one until training ends). The step counter, images seen,
stage and α are buffers of the model, so every checkpoint holds them and ``--resume``
continues mid-fade; ``after_step`` (the trainer's hook) advances them once per step and,
as a stage ends, keeps the averaged G's images of 20 fixed z in ``stage_samples`` (the
figure of the growth, ``benchmarks/progan_figures.py``, reads them from the checkpoint).

Architecture scaled to 8×8 (C = ``channels``, LReLU = LeakyReLU(0.2), PN = pixel-norm),
grown 2×2 → 4×4 → 8×8:

    G: PN(z) → dense → (C, 2, 2) → LReLU, PN → conv3 → LReLU, PN   ┐ stage 0, toRGB: conv1
       → up ×2 → [conv3 → LReLU, PN] × 2                            │ stage 1 (4×4), toRGB
       → up ×2 → [conv3 → LReLU, PN] × 2                            ┘ stage 2 (8×8), toRGB
       (every toRGB is followed by tanh; the fade blends these images)
    D: fromRGB (conv1, LReLU) → [conv3 → LReLU] × 2 → avg-pool ×2   (8×8 and 4×4 blocks)
       → minibatch stddev → conv3 (C + 1 → C) → LReLU → dense (4C → C) → LReLU → dense → d

Data: "digits-signed" (grey levels in [−1, 1]). G's images end in tanh (the paper's are
linear; see Deviations).

Paper: T. Karras, T. Aila, S. Laine, J. Lehtinen (2018), "Progressive Growing of GANs for
Improved Quality, Stability, and Variation", ICLR.

Deviations:
* G's images end in tanh (the paper's are linear): about half of every digit's pixels
  are exactly −1, which a linear output only approaches, and the leftover shows as
  speckle (FD 237 → 203 on a short 30-epoch schedule, all else equal).
* the critic's learning rate is 10⁻² and the generator's 2·10⁻³ (the registry's
  ``lr_scale`` 0.2), against the paper's 10⁻³ for both: equalised weights are N(0, 1), so
  an Adam step of lr moves each by a fraction lr of itself, and at 10⁻³ this small critic
  learns too slowly for a few thousand steps (30-epoch schedule with tanh, critic / G:
  10⁻³ / 2·10⁻⁴ FD 203, 5·10⁻³ / 10⁻³ 125, 10⁻² / 2·10⁻³ 95, 2·10⁻² / 2·10⁻³ 157;
  2·10⁻³ for both collapses, FD 247).
* phase lengths in training steps rather than images (the paper: 800k images per phase),
  sized so a run fits a few CPU minutes; the same width C at every resolution; a 2×2
  start instead of 4×4 so that 8×8 digits grow through three stages.
* the minibatch standard deviation over the whole batch (the paper's description; its
  code uses groups of 4, which did not help StyleGAN's copy of this critic: FD 230 vs 259).
With the registry's settings (90 epochs) ``minigen train progan`` reaches FD 19 against a
real-data floor of 15, recall 0.87, in 229 CPU s (seed 0; FD 23 for seeds 0 and 1 before
the engine's float reorderings of December 2026; before these settings: linear output,
critic 10⁻³: FD 166).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.base import TrainsItself
from minigen.nn import (
    EqualizedConv2d,
    EqualizedLinear,
    ExponentialMovingAverage,
    LeakyReLU,
    Module,
    Parameter,
    PixelNorm,
    Sequential,
    minibatch_stddev,
    pixel_norm,
)
from minigen.nn.losses import gan_loss, gradient_penalty

DIGIT_SHAPE = (1, 8, 8)
START = 2  # the first stage's resolution
SLOPE = 0.2  # LeakyReLU's negative slope throughout
STAGE_SAMPLES = 20  # images of fixed z kept at the end of each stage


def resolution(stage: int) -> int:
    """The side of stage ``stage``'s images: 2, 4, 8."""
    return START * 2 ** int(stage)


def schedule_at(step: int, fade_steps: int, stabilise_steps: int, stages: int) -> tuple[int,
                                                                                       float]:
    """(stage, α) after ``step`` training steps.

    Stage 0 stabilises for ``stabilise_steps``; every later stage fades in over
    ``fade_steps`` with α = t / fade_steps at its t-th step (0, …, 1 − 1/fade_steps), then
    stabilises at α = 1 for ``stabilise_steps`` (the last stage for the rest of training).
    """
    remaining = int(step) - stabilise_steps
    if remaining < 0:
        return 0, 1.0
    for stage in range(1, stages):
        if remaining < fade_steps:
            return stage, remaining / fade_steps  # α rises linearly 0 → 1 over the fade
        remaining -= fade_steps + stabilise_steps
        if remaining < 0 or stage == stages - 1:
            return stage, 1.0
    return 0, 1.0  # one stage only: it never fades


def _upsample(x: Tensor) -> Tensor:
    return ag.upsample_nearest(x, 2)


def _downsample(x: Tensor) -> Tensor:
    return ag.avg_pool2d(x, 2)


def _conv_block(in_channels: int, channels: int, rng: np.random.Generator,
                normalise: bool) -> Sequential:
    """[conv3 → LReLU (→ PN)] twice (PN in the generator only)."""
    layers: list[Module] = []
    for width in (in_channels, channels):
        layers += [EqualizedConv2d(width, channels, 3, padding=1, rng=rng), LeakyReLU(SLOPE)]
        layers += [PixelNorm()] if normalise else []
    return Sequential(*layers)


class ProgressiveGenerator(Module):
    """G(z, stage, α) : (N, latent_dim) -> (N, 1, r, r), r = resolution(stage)."""

    def __init__(self, latent_dim: int, channels: int, stages: int,
                 rng: np.random.Generator) -> None:
        super().__init__()
        self.latent_dim, self.channels, self.stages = int(latent_dim), int(channels), int(stages)
        c = self.channels
        self.input = EqualizedLinear(self.latent_dim, c * START * START, rng=rng)
        first = Sequential(EqualizedConv2d(c, c, 3, padding=1, rng=rng), LeakyReLU(SLOPE),
                           PixelNorm())
        self.blocks = Sequential(first, *(_conv_block(c, c, rng, True)
                                          for _ in range(1, self.stages)))
        self.to_rgb = Sequential(*(EqualizedConv2d(c, 1, 1, gain=1.0, rng=rng)
                                   for _ in range(self.stages)))

    def features(self, z: Any, stage: int) -> Tensor:
        """The last block's features at stage ``stage``: (N, C, r, r)."""
        z = ag.as_tensor(z)
        h = self.input(pixel_norm(z)).reshape(len(z), self.channels, START, START)
        h = self.blocks[0](pixel_norm(ag.leaky_relu(h, SLOPE)))
        for block in range(1, int(stage) + 1):
            h = self.blocks[block](_upsample(h))
        return h

    def image(self, h: Tensor, stage: int) -> Tensor:
        """toRGB of stage ``stage`` then tanh: features (N, C, r, r) -> (N, 1, r, r)."""
        return ag.tanh(self.to_rgb[stage](h))

    def forward(self, z: Any, stage: int, alpha: float) -> Tensor:
        stage = int(stage)
        if stage == 0:
            return self.image(self.features(z, 0), 0)
        h = self.features(z, stage - 1)
        old = _upsample(self.image(h, stage - 1))
        new = self.image(self.blocks[stage](_upsample(h)), stage)
        return (1 - alpha) * old + alpha * new  # fade-in: (1 − α)·up(old) + α·new


class ProgressiveDiscriminator(Module):
    """d(x, stage, α) : (N, 1, r, r) -> critic values (N,), r = resolution(stage).

    ``first_stage`` > 0 builds a critic that runs from that stage up only (fromRGB layers
    for those stages alone): StyleGAN's fixed-resolution critic is ``first_stage`` =
    ``stages`` − 1.
    """

    def __init__(self, channels: int, stages: int, rng: np.random.Generator,
                 first_stage: int = 0) -> None:
        super().__init__()
        self.channels, self.stages, self.first_stage = int(channels), int(stages), int(first_stage)
        if not 0 <= self.first_stage < self.stages:
            raise ValueError(f"ProgressiveDiscriminator: first_stage must be in [0, {stages}), "
                             f"got {first_stage}")
        c = self.channels
        self.from_rgb = Sequential(*(EqualizedConv2d(1, c, 1, rng=rng)
                                     for _ in range(self.first_stage, self.stages)))
        self.blocks = Sequential(*(_conv_block(c, c, rng, False)
                                   for _ in range(1, self.stages)))
        self.final_conv = EqualizedConv2d(c + 1, c, 3, padding=1, rng=rng)
        self.final_dense = EqualizedLinear(c * START * START, c, rng=rng)
        self.output = EqualizedLinear(c, 1, gain=1.0, rng=rng)

    def _from_rgb(self, x: Tensor, stage: int) -> Tensor:
        return ag.leaky_relu(self.from_rgb[stage - self.first_stage](x), SLOPE)

    def _block(self, h: Tensor, stage: int) -> Tensor:
        """Stage ``stage``'s block (stage ≥ 1), halving the resolution."""
        return _downsample(self.blocks[stage - 1](h))

    def head(self, h: Tensor) -> Tensor:
        """(N, C, 2, 2) features -> (N,) critic values, with the minibatch stddev first."""
        h = ag.leaky_relu(self.final_conv(minibatch_stddev(h)), SLOPE)
        h = ag.leaky_relu(self.final_dense(h.reshape(len(h), -1)), SLOPE)
        return self.output(h).reshape(-1)

    def forward(self, x: Any, stage: int, alpha: float) -> Tensor:
        x, stage = ag.as_tensor(x), int(stage)
        side = resolution(stage)
        if not self.first_stage <= stage < self.stages:
            raise ValueError(f"ProgressiveDiscriminator: stage must be in [{self.first_stage}, "
                             f"{self.stages}), got {stage}")
        if x.ndim != 4 or x.shape[1:] != (1, side, side):
            raise ValueError(f"ProgressiveDiscriminator: stage {stage} takes (N, 1, {side}, "
                             f"{side}), got {x.shape}")
        h, next_block = self._from_rgb(x, stage), stage
        if stage > self.first_stage:
            old = self._from_rgb(_downsample(x), stage - 1)
            h = (1 - alpha) * old + alpha * self._block(h, stage)  # the mirror fade-in
            next_block = stage - 1
        for block in range(next_block, 0, -1):
            h = self._block(h, block)
        return self.head(h)


class ProGAN(TrainsItself):
    """ProGAN(data_shape=(1, 8, 8), *, rng, latent_dim=32, channels=32, fade_steps=..., ...).

    Parameters
    ----------
    data_shape : must be (1, 8, 8) (the digits in [−1, 1])
    rng : draws the initial weights
    latent_dim : size of z ~ N(0, I)
    channels : C, the width of every block
    fade_steps, stabilise_steps : phase lengths in training steps (see ``schedule_at``)
    gradient_penalty_weight : λ of WGAN-GP
    drift_weight : ε_drift, keeps the critic's values near 0
    ema_decay : decay of the generator's weight average used by ``sample``
    """

    value_range = (-1.0, 1.0)  # digits-signed; G ends in tanh

    def __init__(self, data_shape: tuple[int, ...] = DIGIT_SHAPE, *, rng: np.random.Generator,
                 latent_dim: int = 32, channels: int = 32, fade_steps: int = 500,
                 stabilise_steps: int = 500, gradient_penalty_weight: float = 10.0,
                 drift_weight: float = 0.001, ema_decay: float = 0.995) -> None:
        super().__init__()
        if tuple(data_shape) != DIGIT_SHAPE:
            raise ValueError(f"ProGAN: data_shape must be {DIGIT_SHAPE} (8×8 digits), got "
                             f"{tuple(data_shape)}")
        if int(fade_steps) < 1 or int(stabilise_steps) < 0:
            raise ValueError(f"ProGAN: fade_steps must be >= 1 and stabilise_steps >= 0, got "
                             f"{fade_steps}, {stabilise_steps}")
        self.data_shape = DIGIT_SHAPE
        self.stages = int(np.log2(DIGIT_SHAPE[-1] // START)) + 1  # 2×2, 4×4, 8×8
        self.latent_dim, self.channels = int(latent_dim), int(channels)
        self.fade_steps, self.stabilise_steps = int(fade_steps), int(stabilise_steps)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.drift_weight = float(drift_weight)
        self.generator = ProgressiveGenerator(self.latent_dim, self.channels, self.stages, rng)
        self.discriminator = ProgressiveDiscriminator(self.channels, self.stages, rng)
        self.ema = ExponentialMovingAverage(self.generator, ema_decay)
        # the schedule lives in buffers, so checkpoints carry it
        self.register_buffer("schedule_step", np.zeros((), np.int64))
        self.register_buffer("images_seen", np.zeros((), np.int64))
        self.register_buffer("stage", np.zeros((), np.int64))
        self.register_buffer("alpha", np.ones((), np.float64))
        # the averaged G's images of fixed z at the end of each stage (for the stages figure)
        self.register_buffer("stage_samples", np.zeros((self.stages, STAGE_SAMPLES,
                                                        *DIGIT_SHAPE), np.float32))

    @property
    def dtype(self) -> np.dtype:
        return self.generator.input.weight.dtype

    def players(self) -> dict[str, list[Parameter]]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    # ----- the schedule ---------------------------------------------------------------
    def phase(self) -> tuple[int, float]:
        """The current (stage, α)."""
        return int(self.stage), float(self.alpha)

    def after_step(self) -> None:
        """θ̄ ← EMA of G; then one step further along the schedule. When a stage ends its
        samples of fixed z are kept in ``stage_samples`` (the final stage's are drawn by
        :meth:`fixed_samples` when wanted)."""
        self.ema.update()
        self.schedule_step = np.asarray(int(self.schedule_step) + 1, np.int64)
        stage, alpha = schedule_at(int(self.schedule_step), self.fade_steps,
                                   self.stabilise_steps, self.stages)
        if stage != int(self.stage):
            self.stage_samples[int(self.stage)] = self.fixed_samples()
        self.stage, self.alpha = np.asarray(stage, np.int64), np.asarray(alpha, np.float64)

    # ----- the game -------------------------------------------------------------------
    def noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """z ~ N(0, I): (n, latent_dim)."""
        return rng.standard_normal((int(n), self.latent_dim)).astype(self.dtype)

    def generate(self, z: Any) -> Tensor:
        """G(z) at the current stage and α: (N, 1, r, r)."""
        return self.generator(z, *self.phase())

    def critic(self, x: Any) -> Tensor:
        """d(x) at the current stage and α: (N, 1, r, r) -> (N,)."""
        return self.discriminator(x, *self.phase())

    def reals(self, x: Any) -> Tensor:
        """Real digits as D sees them now: at the stage's resolution, and during a fade
        (1 − α)·upsample(downsample(x)) + α·x, blocky as G's output."""
        x = self.examples(x)
        stage, alpha = self.phase()
        factor = DIGIT_SHAPE[-1] // resolution(stage)
        if factor > 1:
            x = ag.avg_pool2d(x, factor)
        if stage == 0:
            return x
        return (1 - alpha) * _upsample(_downsample(x)) + alpha * x

    def discriminator_loss(self, real: Tensor, fake: Tensor, rng: np.random.Generator) -> Tensor:
        """E d(G(z)) − E d(x) + λ·GP + ε_drift·E d(x)² on real and (constant) fake images."""
        d_real = self.critic(real)
        value = gan_loss("wasserstein").discriminator(d_real, self.critic(fake))
        penalty = gradient_penalty(self.critic, real.data, fake.data, rng)
        return (value + self.gradient_penalty_weight * penalty
                + self.drift_weight * (d_real * d_real).mean())  # drift: ε E d(x)²

    def generator_loss(self, fake: Tensor) -> Tensor:
        """−E d(G(z)), differentiable through G."""
        return gan_loss("wasserstein").generator(self.critic(fake))

    def loss(self, x: Any, rng: np.random.Generator, **conditions: Any) -> Tensor:
        """The critic's loss without its penalty, E d(G(z)) − E d(x) + ε_drift E d(x)² (a
        figure to watch: minus the Wasserstein estimate). No side effects."""
        if conditions:
            raise TypeError(f"ProGAN is unconditional; got conditions {sorted(conditions)}")
        real = self.reals(x)
        with ag.no_grad():
            fake = self.generate(self.noise(len(real), rng))
        d_real = self.critic(real)
        return (gan_loss("wasserstein").discriminator(d_real, self.critic(fake))
                + self.drift_weight * (d_real * d_real).mean())

    def train_step(self, x: Any, rng: np.random.Generator, **conditions: Any) -> dict[str, float]:
        """Critic steps then one generator step, at the current stage and α."""
        if conditions:
            raise TypeError(f"ProGAN is unconditional; got conditions {sorted(conditions)}")
        real = self.reals(x)
        n = len(real)
        for _ in range(self.player_steps("discriminator")):
            with ag.no_grad():
                fake = self.generate(self.noise(n, rng))  # G is fixed in the critic's step
            d_loss = self.step_player("discriminator",
                                      partial(self.discriminator_loss, real, fake, rng))
        z = self.noise(n, rng)
        g_loss = self.step_player("generator", lambda: self.generator_loss(self.generate(z)))
        self.images_seen = np.asarray(int(self.images_seen) + n, np.int64)
        stage, alpha = self.phase()
        return {"discriminator": d_loss, "generator": g_loss, "stage": float(stage),
                "alpha": alpha}

    def sample(self, n: int, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """n images from the averaged G at the current stage, upsampled to 8×8: (n, 1, 8, 8)
        in [−1, 1]."""
        if conditions:
            raise TypeError(f"ProGAN is unconditional; got conditions {sorted(conditions)}")
        stage, alpha = self.phase()
        with ag.no_grad(), self.ema.swapped_in():
            images = self.generator(self.noise(n, rng), stage, alpha).data
        repeat = DIGIT_SHAPE[-1] // resolution(stage)
        return images.repeat(repeat, axis=2).repeat(repeat, axis=3)

    def fixed_samples(self) -> np.ndarray:
        """``sample`` of the same z every time (its own generator, seed 0; the training
        draws are untouched): (STAGE_SAMPLES, 1, 8, 8)."""
        return self.sample(STAGE_SAMPLES, np.random.default_rng(0))

    def extra_repr(self) -> str:
        return (f"latent_dim={self.latent_dim}, channels={self.channels}, "
                f"stage={int(self.stage)}, alpha={float(self.alpha):.3f}")
