"""DCGAN (Radford, Metz & Chintala, 2016): the GAN game played by convolutional networks.

Idea. The game is the GAN's (``gan.py``; the non-saturating loss by default,
min_d −E log D(x) − E log(1 − D(G(z))), min_G −E log D(G(z))); what DCGAN contributed are
architecture rules that made convolutional GANs train stably:

* no pooling: the discriminator downsamples with strided convolutions, the generator
  upsamples with transposed ("fractionally strided") convolutions;
* BatchNorm in both networks, except the generator's output layer and the
  discriminator's input layer;
* ReLU in the generator with tanh at the output (data in [−1, 1]); LeakyReLU(0.2) in the
  discriminator; no fully connected hidden layers;
* weights drawn from N(0, 0.02²); Adam with lr 2·10⁻⁴ and β₁ = 0.5 (the registry's
  player settings).

Scaled to 8×8 digits (C = ``channels``), z : (N, latent_dim) seen as (N, latent_dim, 1, 1):

    G: z → ConvT(4C, k2 s1) 2×2 → BN, ReLU → ConvT(2C, k4 s2 p1) 4×4 → BN, ReLU
         → ConvT(1, k4 s2 p1) 8×8 → tanh
    D: x → Conv(C, k4 s2 p1) 4×4 → LeakyReLU → Conv(2C, k4 s2 p1) 2×2 → BN, LeakyReLU
         (the trunk) → Conv(1, k2) 1×1 → the logit d(x) (the head)

Data: "digits-signed", 8×8 grey levels mapped to [−1, 1] (2·x − 1 for x in [0, 1]).

BatchNorm uses torch's eps = 1e-5 and momentum 0.1 (a known bug of public code passes
``BatchNorm2d(c, 0.8)``, which sets eps = 0.8; a test checks ours). As in the reference
code, D sees real and fake batches separately, so each BatchNorm batch is all real or all
fake. ``sample`` runs G in evaluation mode (BatchNorm's running statistics), so a sample
does not depend on the other samples drawn with it.

Paper: A. Radford, L. Metz, S. Chintala (2016), "Unsupervised Representation Learning
with Deep Convolutional Generative Adversarial Networks", ICLR.

Deviations: three layers each way instead of four to five (8×8 images, not 64×64); the
first transposed convolution maps z to 2×2 rather than a projection to 4×4.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.nn import (
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    LeakyReLU,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Tanh,
)

from .gan import GAN

DIGIT_SHAPE = (1, 8, 8)
INIT_STD = 0.02


def dcgan_init(module: Module, rng: np.random.Generator) -> None:
    """Every conv and linear weight ~ N(0, 0.02²), their biases 0 (the paper's §4)."""
    for _, layer in module.named_modules():
        if isinstance(layer, (Conv2d, ConvTranspose2d, Linear)):
            layer.weight.data = rng.normal(0.0, INIT_STD, layer.weight.shape).astype(
                layer.weight.dtype)
            if layer.bias is not None:
                layer.bias.data[...] = 0


def dcgan_generator(input_dim: int, channels: int, rng: np.random.Generator) -> Sequential:
    """(N, input_dim, 1, 1) -> (N, 1, 8, 8) in [−1, 1]: transposed convs, BN, ReLU, tanh."""
    c = int(channels)
    return Sequential(
        ConvTranspose2d(input_dim, 4 * c, 2, 1, 0, bias=False, rng=rng),  # 1×1 -> 2×2
        BatchNorm2d(4 * c), ReLU(),
        ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False, rng=rng),  # 2×2 -> 4×4
        BatchNorm2d(2 * c), ReLU(),
        ConvTranspose2d(2 * c, 1, 4, 2, 1, rng=rng),  # 4×4 -> 8×8, no BN at G's output
        Tanh())


def dcgan_trunk(channels: int, rng: np.random.Generator) -> Sequential:
    """(N, 1, 8, 8) -> features (N, 2C, 2, 2): strided convs, LeakyReLU 0.2, no pooling."""
    c = int(channels)
    return Sequential(
        Conv2d(1, c, 4, 2, 1, rng=rng), LeakyReLU(0.2),  # 8×8 -> 4×4, no BN at D's input
        Conv2d(c, 2 * c, 4, 2, 1, bias=False, rng=rng),  # 4×4 -> 2×2
        BatchNorm2d(2 * c), LeakyReLU(0.2))


class DCGAN(GAN):
    """DCGAN(data_shape=(1, 8, 8), *, rng, latent_dim=32, channels=32, loss="non_saturating").

    Parameters
    ----------
    data_shape : must be (1, 8, 8) (the embedded digits, values in [−1, 1])
    rng : draws the initial weights
    latent_dim : size of z ~ N(0, I)
    channels : C, the width of D's first layer (the others are 2C and 4C)
    loss : a game of ``minigen.nn.losses.GAN_LOSSES``
    gradient_penalty_weight : λ of WGAN-GP, used by "wasserstein" only
    code_dim : width of a code appended to z at G's input (InfoGAN's); 0: none
    """

    def __init__(
        self,
        data_shape: tuple[int, ...] = DIGIT_SHAPE,
        *,
        rng: np.random.Generator,
        latent_dim: int = 32,
        channels: int = 32,
        loss: str = "non_saturating",
        gradient_penalty_weight: float = 10.0,
        code_dim: int = 0,
    ) -> None:
        super(GAN, self).__init__()  # the networks are DCGAN's, not the MLPs of GAN.__init__
        if tuple(data_shape) != DIGIT_SHAPE:
            raise ValueError(f"{type(self).__name__}: data_shape must be {DIGIT_SHAPE} (8×8 "
                             f"digits), got {tuple(data_shape)}")
        self.setup_game(data_shape, latent_dim, loss, 1, gradient_penalty_weight, 0)
        self.value_range = (-1.0, 1.0)  # the generator ends in tanh
        self.channels, self.code_dim = int(channels), int(code_dim)
        self.generator = dcgan_generator(self.latent_dim + self.code_dim, self.channels, rng)
        self.trunk = dcgan_trunk(self.channels, rng)
        self.head = Conv2d(2 * self.channels, 1, 2, rng=rng)  # 2×2 features -> one logit
        dcgan_init(self, rng)

    @property
    def dtype(self) -> np.dtype:
        return self.head.weight.dtype

    def players(self) -> dict[str, list[Parameter]]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.trunk.parameters() + self.head.parameters()}

    def generate(self, z: Any, condition: Tensor | None = None) -> Tensor:
        """G(z) : (N, latent_dim + code_dim) -> (N, 1, 8, 8) in [−1, 1]."""
        z = ag.as_tensor(z)
        return self.generator(z.reshape(len(z), -1, 1, 1))

    def critic(self, packed: Tensor) -> Tensor:
        """d(x) from D's flat input (N, 64) -> logits (N,)."""
        return self.head(self.trunk(packed.reshape((-1, *self.data_shape)))).reshape(-1)

    def sample(self, n: int, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """G(z) in evaluation mode (BatchNorm's running statistics): (n, 1, 8, 8) in [−1, 1]."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            return super().sample(n, rng, **conditions)
        finally:
            self.generator.train(was_training)

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, channels={self.channels}, loss={self.loss_name!r}"
