"""InfoGAN (Chen et al., 2016): a GAN whose code c "makes the GAN focus on a mode".

Idea. Split the generator's input into incompressible noise z and a structured code c (here
a 10-way categorical c₁ and two continuous c₂, c₃ ~ U(−1, 1)). Nothing in the GAN game
forces G to use c, so add the mutual information I(c; G(z, c)) between the code and the
image as a reward. It is intractable, but any distribution Q(c | x) bounds it from below
(Barber & Agakov's variational bound):

    I(c; G(z, c)) ≥ L_I(G, Q) = E_{c~p(c), x~G(z,c)}[log Q(c | x)] + H(c),

tight when Q is the true posterior. The game is

    min_{G,Q} max_D  V(D, G) − λ L_I(G, Q),       λ = ``information_weight`` = 1.

Q shares the discriminator's convolutional trunk and adds a small head, so L_I costs one
head. Both G and Q (with the shared trunk) ascend L_I: G draws images whose code can be
read back, Q learns to read it. With the categorical part, 0 ≤ max_Q L_I ≤ H(c₁) =
log 10 (the best Q is at least as good as the prior, and log Q ≤ 0); a test checks the
upper bound in every batch and the lower one once Q has trained.

Players, as in the authors' code: "generator" (G) minimises its GAN loss − λ L_I; the
"discriminator" player holds the trunk, the adversarial head and Q's head, and minimises
its GAN loss − λ L_I on the same fakes. So the information term reaches G, Q and the
trunk, and never the adversarial head (its gradient there is exactly zero; a test checks).

Code distribution and Q: c₁ uniform on 10 categories, log Q(c₁|x) = log_softmax(q(x))[c₁]
from logits (never a softmax fed to a cross-entropy expecting logits, a known bug of public
code); c₂, c₃ ~ U(−1, 1), H = log 2 each, Q(c_j | x) = N(μ_j(x), 1). Networks: DCGAN's
(``dcgan.py``) with G's input [z, onehot(c₁), c₂, c₃]; Q's head is FC 128 → BatchNorm →
LeakyReLU 0.2 → FC to 10 logits and 2 means, as the paper's MNIST network. Data:
"digits-signed" (8×8 digits in [−1, 1]).

Paper: X. Chen, Y. Duan, R. Houthooft, J. Schulman, I. Sutskever, P. Abbeel (2016),
"InfoGAN: Interpretable Representation Learning by Information Maximizing Generative
Adversarial Nets", NeurIPS.

Deviations: Q's continuous part has a fixed unit variance (the paper learns a factored
Gaussian); a learned σ lets log Q grow without bound when G encodes c₂, c₃ exactly, while
σ = 1 keeps the term a bounded, still valid lower bound. The networks are DCGAN's scaled to
8×8; the game is non-saturating by default (the paper's choice). The cross-entropy games
only: WGAN-GP's penalty assumes a critic without BatchNorm.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.distributions import Categorical, Normal
from minigen.nn import BatchNorm1d, Flatten, LeakyReLU, Linear, Parameter, Sequential
from minigen.nn.losses import gan_loss

from .dcgan import DCGAN, DIGIT_SHAPE, dcgan_init


class InfoGAN(DCGAN):
    """InfoGAN(data_shape=(1, 8, 8), *, rng, latent_dim=32, categories=10, continuous=2).

    Parameters
    ----------
    data_shape : must be (1, 8, 8) (digits in [−1, 1])
    rng : draws the initial weights
    latent_dim : size of the incompressible noise z ~ N(0, I)
    categories : K, the size of the categorical code c₁
    continuous : the number of continuous codes c_j ~ U(−1, 1)
    channels : C of the DCGAN networks
    information_weight : λ on L_I in both players' objectives
    loss : "non_saturating" (default), "minimax", "least_squares" or "hinge"
    """

    def __init__(
        self,
        data_shape: tuple[int, ...] = DIGIT_SHAPE,
        *,
        rng: np.random.Generator,
        latent_dim: int = 32,
        categories: int = 10,
        continuous: int = 2,
        channels: int = 32,
        information_weight: float = 1.0,
        loss: str = "non_saturating",
    ) -> None:
        if loss == "wasserstein":
            raise ValueError("InfoGAN: loss 'wasserstein' needs a critic without BatchNorm "
                             "(WGAN-GP); use a cross-entropy, least-squares or hinge game")
        if int(categories) < 2 or int(continuous) < 0:
            raise ValueError(f"InfoGAN: categories must be >= 2 and continuous >= 0, got "
                             f"categories={categories}, continuous={continuous}")
        super().__init__(data_shape, rng=rng, latent_dim=latent_dim, channels=channels,
                         loss=loss, code_dim=int(categories) + int(continuous))
        self.categories, self.continuous = int(categories), int(continuous)
        self.information_weight = float(information_weight)
        features = 2 * self.channels * 2 * 2  # the trunk's (2C, 2, 2) output, flattened
        self.q_head = Sequential(Flatten(), Linear(features, 128, rng=rng), BatchNorm1d(128),
                                 LeakyReLU(0.2),
                                 Linear(128, self.categories + self.continuous, rng=rng))
        dcgan_init(self.q_head, rng)

    def players(self) -> dict[str, list[Parameter]]:
        # Q is folded into the discriminator player: it shares the trunk (authors' code).
        return {"generator": self.generator.parameters(),
                "discriminator": (self.trunk.parameters() + self.head.parameters()
                                  + self.q_head.parameters())}

    # ----- the code -------------------------------------------------------------------
    def draw_codes(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """c₁ ~ Uniform{0..K−1} : (n,) int, and c₂.. ~ U(−1, 1) : (n, continuous)."""
        categories = rng.integers(self.categories, size=int(n))
        continuous = rng.uniform(-1.0, 1.0, (int(n), self.continuous)).astype(self.dtype)
        return categories, continuous

    def generator_input(self, noise: np.ndarray, categories: np.ndarray,
                        continuous: np.ndarray) -> np.ndarray:
        """[z, onehot(c₁), c₂, …] : (n, latent_dim + K + continuous)."""
        one_hot = np.eye(self.categories, dtype=self.dtype)[np.asarray(categories)]
        return np.concatenate([noise, one_hot, np.asarray(continuous, self.dtype)], axis=1)

    def information(self, features: Tensor, categories: np.ndarray,
                    continuous: np.ndarray) -> tuple[Tensor, Tensor]:
        """L_I's two parts from the trunk's features of G(z, c), each a scalar Tensor:

        categorical  E log Q(c₁|x) + log K           (≤ log K always)
        continuous   E Σ_j log N(c_j; μ_j(x), 1) + continuous · log 2
        """
        q = self.q_head(features)
        logits, means = q[:, :self.categories], q[:, self.categories:]
        log_q = Categorical(logits).log_prob(np.asarray(categories))  # log Q(c₁|x), on logits
        categorical = log_q.mean() + np.log(self.categories)  # E log Q(c₁|x) + H(c₁)
        if not self.continuous:
            return categorical, Tensor(np.zeros((), dtype=self.dtype))
        unit_scale = np.zeros(means.shape, dtype=self.dtype)  # log σ = 0
        log_normal = Normal(means, unit_scale).log_prob(np.asarray(continuous, self.dtype))
        continuous_part = log_normal.sum(axis=1).mean() + self.continuous * np.log(2.0)
        return categorical, continuous_part

    def information_loss(self, n: int, rng: np.random.Generator) -> Tensor:
        """−λ L_I on n fresh draws through G, the trunk and Q (what both players add)."""
        categories, continuous = self.draw_codes(n, rng)
        fake = self.generate(self.generator_input(self.noise(n, rng), categories, continuous))
        categorical, continuous_part = self.information(self.trunk(fake), categories,
                                                        continuous)
        return -self.information_weight * (categorical + continuous_part)

    # ----- training -------------------------------------------------------------------
    def loss(self, x: Any, rng: np.random.Generator, **conditions: Any) -> Tensor:
        """The discriminator's GAN loss on the batch against as many fakes G(z, c) (a figure
        to watch, without the information term). No side effects on the weights."""
        real, _ = self._batch(x, conditions)
        categories, continuous = self.draw_codes(len(real), rng)
        with ag.no_grad():
            fake = self.generate(self.generator_input(self.noise(len(real), rng), categories,
                                                      continuous))
        return gan_loss(self.loss_name).discriminator(self.discriminator_logits(real),
                                                      self.discriminator_logits(fake))

    def train_step(self, x: Any, rng: np.random.Generator, **conditions: Any) -> dict[str, float]:
        """n_critic steps of D and Q (GAN loss − λ L_I on fixed fakes), then one step of G
        (GAN loss − λ L_I). x : (N, 1, 8, 8) in [−1, 1]."""
        real, _ = self._batch(x, conditions)
        n, game, figures = len(real), gan_loss(self.loss_name), {}

        def objective(fake: Tensor, categories: np.ndarray, continuous: np.ndarray,
                      player: str) -> Tensor:
            features = self.trunk(fake)  # shared by the adversarial head and Q
            fake_logits = self.head(features).reshape(-1)
            categorical, continuous_part = self.information(features, categories, continuous)
            information = categorical + continuous_part  # L_I
            figures["information_categorical"] = float(categorical.data)
            if player == "discriminator":
                value = game.discriminator(self.discriminator_logits(real), fake_logits)
            else:
                value = game.generator(fake_logits)
            return value - self.information_weight * information  # V − λ L_I

        for _ in range(self.player_steps("discriminator")):
            categories, continuous = self.draw_codes(n, rng)
            with ag.no_grad():  # G is fixed while D and Q step
                fake = self.generate(self.generator_input(self.noise(n, rng), categories,
                                                          continuous))
            figures["discriminator"] = self.step_player(
                "discriminator", partial(objective, fake, categories, continuous,
                                         "discriminator"))
        categories, continuous = self.draw_codes(n, rng)
        z = self.generator_input(self.noise(n, rng), categories, continuous)
        figures["generator"] = self.step_player(
            "generator", lambda: objective(self.generate(z), categories, continuous,
                                           "generator"))
        return figures

    # ----- using the code -------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """G(z, c) for n draws of z and c from their priors: (n, 1, 8, 8) in [−1, 1]."""
        if conditions:
            raise TypeError(f"InfoGAN is unconditional; got conditions {sorted(conditions)}")
        categories, continuous = self.draw_codes(n, rng)
        return self.sample_with_codes(categories, continuous, rng)

    def sample_with_codes(self, categories: Any, continuous: Any,
                          rng: np.random.Generator) -> np.ndarray:
        """G(z, c) with the given codes and fresh noise, G in evaluation mode.

        categories : (n,) ints in [0, K); continuous : (n, continuous). -> (n, 1, 8, 8).
        """
        categories = np.asarray(categories)
        continuous = np.asarray(continuous, dtype=self.dtype).reshape(len(categories), -1)
        if continuous.shape[1] != self.continuous or (
                categories.size and (categories.min() < 0 or categories.max() >= self.categories)):
            raise ValueError(f"InfoGAN.sample_with_codes: categories must lie in "
                             f"[0, {self.categories}) and continuous be (n, {self.continuous}); "
                             f"got {categories.shape} and {continuous.shape}")
        was_training = self.generator.training
        self.generator.eval()
        try:
            with ag.no_grad():
                z = self.generator_input(self.noise(len(categories), rng), categories, continuous)
                return self.generate(z).data
        finally:
            self.generator.train(was_training)

    def infer_codes(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Q's reading of images x : (N, 1, 8, 8): the most likely category (N,) and the
        continuous means (N, continuous), trunk and Q in evaluation mode."""
        x = self._batch(x, {})[0]
        modules = (self.trunk, self.q_head)
        modes = [module.training for module in modules]
        for module in modules:
            module.eval()
        try:
            with ag.no_grad():
                q = self.q_head(self.trunk(x)).data
        finally:
            for module, mode in zip(modules, modes):
                module.train(mode)
        return q[:, :self.categories].argmax(axis=1), q[:, self.categories:]

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, categories={self.categories}, "
                f"continuous={self.continuous}, information_weight={self.information_weight}")
