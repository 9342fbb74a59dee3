"""Generative adversarial network (Goodfellow et al., 2014), with WGAN-GP and PacGAN options.

Idea. A generator G maps noise z ~ N(0, I) to data space; nothing says how likely a point
is (there is no density), only how to draw one. A discriminator D(x) = σ(d(x)) learns to
tell real data from G's output, and G learns to fool it: the forger and the police. The
two play the minimax game

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))].

For a fixed G the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and then
V(D*, G) = −log 4 + 2·JSD(p_data ‖ p_g), minimised exactly at p_g = p_data, where D* = ½
(tests check all three on a discrete toy). Training alternates gradient steps of the two
players (``step_player``), each with its own Adam.

Games (``loss``, all from ``minigen.nn.losses``, all on the logits d(x)):

* "non_saturating" (default): D as above, G minimises −E log D(G(z)) instead of
  E log(1 − D(G(z))), which saturates when D rejects the fakes early in training
  (the paper's own suggestion, §3);
* "minimax": the game exactly as written above;
* "wasserstein": WGAN-GP (Gulrajani et al., 2017), a critic d without a sigmoid,
  min_d E d(G(z)) − E d(x) + λ E_x̂ (‖∇d(x̂)‖ − 1)², λ = ``gradient_penalty_weight`` = 10,
  with n_critic critic steps per generator step (the registry's ``steps`` for the
  "discriminator" player, 5 in the paper);
* "least_squares", "hinge": the other games of the shared table, for experiments.

PacGAN (Lin et al., 2018): with ``pack`` = m the discriminator judges m samples at once,
all real or all fake, concatenated into one input of m·D numbers. A generator that
collapses onto a few modes makes packs whose members look alike, which one real pack
rarely does, so D can see the collapse; m = 2 already recovers most modes on the toy
sets (``benchmarks/gan_bench.py``).

Architecture: MLPs. G: z → (Linear, ReLU) per width in ``hidden`` → Linear → tanh for
data in [−1, 1] (the digits' "digits-signed" view) or the identity (``output="linear"``)
for unbounded 2-D points. D: (m·D) → (Linear, LeakyReLU 0.2) per width → Linear → 1 logit.

Deviations: Adam (β₁ = 0.5) rather than SGD with momentum (DCGAN's setting, which every
later GAN uses); the n_critic critic steps reuse the batch's real examples with fresh
noise (the paper draws a new real batch per critic step) so one ``train_step`` is one batch;
a batch whose size is not a multiple of ``pack`` drops its last few examples.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.base import TrainsItself
from minigen.nn import LeakyReLU, Parameter, Sequential, Tanh, mlp
from minigen.nn.losses import GAN_LOSSES, gan_loss, gradient_penalty

OUTPUTS = ("tanh", "linear")


class GAN(TrainsItself):
    """GAN(data_shape, *, rng, latent_dim=16, hidden=(256, 256), loss="non_saturating").

    Parameters
    ----------
    data_shape : one example's shape, (1, 8, 8) for digits in [−1, 1], (2,) for 2-D points
    rng : draws the initial weights
    latent_dim : size of the noise z ~ N(0, I)
    hidden : widths of G's hidden ReLU layers
    discriminator_hidden : widths of D's hidden LeakyReLU(0.2) layers
    loss : a game of ``minigen.nn.losses.GAN_LOSSES`` (see the module docstring)
    pack : m, the number of samples D judges at once (PacGAN); 1 is the plain GAN
    gradient_penalty_weight : λ of WGAN-GP, used by the "wasserstein" game only
    output : "tanh" (data in [−1, 1]) or "linear" (unbounded data)
    condition_dim : width c of a per-example condition vector appended to z and to each
        example D sees (the conditional GAN's one-hot labels, see ``cgan.py``); 0: none
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        latent_dim: int = 16,
        hidden: tuple[int, ...] = (256, 256),
        discriminator_hidden: tuple[int, ...] = (256, 256),
        loss: str = "non_saturating",
        pack: int = 1,
        gradient_penalty_weight: float = 10.0,
        output: str = "tanh",
        condition_dim: int = 0,
    ) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"GAN: output must be one of {OUTPUTS}, got {output!r}")
        self.setup_game(data_shape, latent_dim, loss, pack, gradient_penalty_weight,
                        condition_dim)
        self.output = output
        if output == "tanh":
            self.value_range = (-1.0, 1.0)  # a tanh generator cannot draw outside it
        generator = mlp([self.latent_dim + self.condition_dim, *hidden, self.data_dim], rng)
        self.generator = Sequential(*generator, *([Tanh()] if output == "tanh" else []))
        self.discriminator = mlp([self.pack * (self.data_dim + self.condition_dim),
                                  *discriminator_hidden, 1], rng, partial(LeakyReLU, 0.2))

    def setup_game(self, data_shape: tuple[int, ...], latent_dim: int, loss: str, pack: int,
                   gradient_penalty_weight: float, condition_dim: int) -> None:
        """Check and keep the settings of the game (shared with the convolutional GANs)."""
        name = type(self).__name__
        if loss not in GAN_LOSSES:
            raise ValueError(f"{name}: loss must be one of {tuple(GAN_LOSSES)}, got {loss!r}")
        if int(pack) < 1 or int(latent_dim) < 1:
            raise ValueError(f"{name}: pack and latent_dim must be >= 1, got pack={pack}, "
                             f"latent_dim={latent_dim}")
        self.data_shape = tuple(int(d) for d in data_shape)
        self.data_dim = int(np.prod(self.data_shape))
        self.latent_dim, self.pack = int(latent_dim), int(pack)
        self.loss_name = loss
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.condition_dim = int(condition_dim)

    @property
    def dtype(self) -> np.dtype:
        return self.generator[0].weight.dtype

    def players(self) -> dict[str, list[Parameter]]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    # ----- the two networks -----------------------------------------------------------
    def noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """z ~ N(0, I): (n, latent_dim) in the model's dtype."""
        return rng.standard_normal((int(n), self.latent_dim)).astype(self.dtype)

    def generate(self, z: Any, condition: Tensor | None = None) -> Tensor:
        """G(z) : (N, latent_dim) -> (N, *data_shape); ``condition`` (N, condition_dim) is
        appended to z when the model has one (the conditional GAN's one-hot labels)."""
        z = ag.as_tensor(z)
        inputs = z if condition is None else ag.concat([z, condition], axis=1)
        return self.generator(inputs).reshape((-1, *self.data_shape))

    def discriminator_logits(self, x: Any, condition: Tensor | None = None) -> Tensor:
        """d on packs: x : (N, *data_shape), N a multiple of ``pack`` -> (N / pack,).

        D = σ(d) is the probability that the pack is real (a critic value for
        "wasserstein"); consecutive examples form a pack, each with its condition.
        """
        return self.critic(self._packed(x, condition))

    def critic(self, packed: Tensor) -> Tensor:
        """d on D's flat input (N / pack, pack·(D + c)) -> logits (N / pack,)."""
        return self.discriminator(packed).reshape(-1)

    def _packed(self, x: Any, condition: Tensor | None) -> Tensor:
        """(N, *data_shape) [+ condition (N, c)] -> D's input (N / pack, pack·(D + c))."""
        x = ag.as_tensor(x)
        if len(x) % self.pack:
            raise ValueError(f"{type(self).__name__}: {len(x)} examples do not fill packs of "
                             f"{self.pack}")
        flat = x.reshape(len(x), self.data_dim)
        if condition is not None:
            flat = ag.concat([flat, condition], axis=1)
        return flat.reshape(len(x) // self.pack, -1)

    def _condition(self, n: int, conditions: dict[str, Any]) -> Tensor | None:
        """The condition vectors (N, condition_dim) of a batch; None for an unconditional
        GAN, which refuses condition fields."""
        if conditions:
            raise TypeError(f"{type(self).__name__} is unconditional; got conditions "
                            f"{sorted(conditions)}")
        return None

    def _batch(self, x: Any, conditions: dict[str, Any]) -> tuple[Tensor, Tensor | None]:
        """The real examples and their conditions, cut to a multiple of ``pack``."""
        x = self.examples(x)
        condition = self._condition(len(x), conditions)
        usable = len(x) - len(x) % self.pack
        if usable == 0:
            raise ValueError(f"{type(self).__name__}: a batch of {len(x)} cannot fill one pack "
                             f"of {self.pack}")
        if usable < len(x):
            x = x[:usable]
            condition = None if condition is None else condition[:usable]
        return x, condition

    # ----- the game -------------------------------------------------------------------
    def discriminator_loss(self, real: Tensor, fake: Tensor, rng: np.random.Generator,
                           condition: Tensor | None = None) -> Tensor:
        """D's objective on real and (constant) fake examples, both (N, *data_shape)."""
        value = gan_loss(self.loss_name).discriminator(
            self.discriminator_logits(real, condition), self.discriminator_logits(fake, condition))
        if self.loss_name != "wasserstein":
            return value
        # WGAN-GP: + λ E_x̂ (‖∇d(x̂)‖ − 1)², x̂ between a real and a fake pack
        penalty = gradient_penalty(self.critic, self._packed(real, condition).data,
                                   self._packed(fake, condition).data, rng)
        return value + self.gradient_penalty_weight * penalty

    def generator_loss(self, fake: Tensor, condition: Tensor | None = None) -> Tensor:
        """G's objective on its own samples (N, *data_shape), differentiable through G."""
        return gan_loss(self.loss_name).generator(self.discriminator_logits(fake, condition))

    def loss(self, x: Any, rng: np.random.Generator, **conditions: Any) -> Tensor:
        """The discriminator's loss on the batch against as many fresh fakes (a figure to
        watch: log 4 = 1.386 at D = ½ for the cross-entropy games). No side effects."""
        real, condition = self._batch(x, conditions)
        with ag.no_grad():
            fake = self.generate(self.noise(len(real), rng), condition)
        return gan_loss(self.loss_name).discriminator(
            self.discriminator_logits(real, condition), self.discriminator_logits(fake, condition))

    def train_step(self, x: Any, rng: np.random.Generator, **conditions: Any) -> dict[str, float]:
        """n_critic discriminator steps on the batch, then one generator step.

        x : (N, *data_shape). Fakes carry the real batch's conditions. Returns both losses
        and D's mean output on real and on fake packs.
        """
        real, condition = self._batch(x, conditions)
        n = len(real)
        for _ in range(self.player_steps("discriminator")):
            with ag.no_grad():
                fake = self.generate(self.noise(n, rng), condition)  # G is fixed in this step
            d_loss = self.step_player(
                "discriminator", partial(self.discriminator_loss, real, fake, rng, condition))
        z = self.noise(n, rng)
        g_loss = self.step_player(
            "generator", lambda: self.generator_loss(self.generate(z, condition), condition))
        with ag.no_grad():
            d_real = ag.sigmoid(self.discriminator_logits(real, condition)).data.mean()
            d_fake = ag.sigmoid(self.discriminator_logits(fake, condition)).data.mean()
        return {"discriminator": d_loss, "generator": g_loss,
                "d_real": float(d_real), "d_fake": float(d_fake)}

    def sample(self, n: int, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """G(z) for n draws z ~ N(0, I): (n, *data_shape), in [−1, 1] for ``output="tanh"``."""
        condition = self._condition(n, conditions)
        with ag.no_grad():
            return self.generate(self.noise(n, rng), condition).data

    def extra_repr(self) -> str:
        return (f"data_shape={self.data_shape}, latent_dim={self.latent_dim}, "
                f"loss={self.loss_name!r}, pack={self.pack}")
