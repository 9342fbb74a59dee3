"""Conditional GAN (Mirza & Osindero, 2014): both players see the label.

Idea. Feed the class label y, as a one-hot vector, to the generator beside the noise and
to the discriminator beside the image. The discriminator then judges pairs (x, y): a
well-drawn 3 labelled "7" is fake. The game becomes

    min_G max_D  E_{x,y}[log D(x | y)] + E_{z,y}[log(1 − D(G(z | y) | y))],

whose optimal generator draws from p_data(x | y) for every y, so ``sample(n, rng, y=)``
draws digits of the classes asked for. Everything else (games, PacGAN packing, n_critic)
is ``gan.py``'s; in a packed discriminator each member of a pack brings its own label.

Architecture (MLPs, as the paper): G: [z, onehot(y)] → (Linear, ReLU)… → Linear → tanh;
D: [x, onehot(y)] → (Linear, LeakyReLU 0.2)… → Linear → logit. Data: "digits-signed"
(8×8 digits in [−1, 1]) with their labels.

Fakes in a training step carry the real batch's labels, so real and fake batches have the
same label histogram and D cannot win on the labels alone.

Paper: M. Mirza, S. Osindero (2014), "Conditional Generative Adversarial Nets",
arXiv:1411.1784.

Deviations: ReLU/LeakyReLU MLPs trained with Adam (β₁ = 0.5) instead of the paper's
maxout discriminator, dropout and SGD with momentum; the non-saturating generator loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.checks import check_labels

from .gan import GAN


class ConditionalGAN(GAN):
    """ConditionalGAN(data_shape, *, rng, num_classes=10, **GAN hyper-parameters).

    Parameters
    ----------
    data_shape : one example's shape, (1, 8, 8) for digits in [−1, 1]
    rng : draws the initial weights
    num_classes : C, the number of labels (one-hot width)
    gan_hparams : ``latent_dim``, ``hidden``, ``discriminator_hidden``, ``loss``, ``pack``,
        ``gradient_penalty_weight``, ``output``, as in :class:`~.gan.GAN`
    """

    conditions = ("y",)

    def __init__(
        self, data_shape: tuple[int, ...], *, rng: np.random.Generator, num_classes: int = 10,
        **gan_hparams: Any,
    ) -> None:
        if int(num_classes) < 1:
            raise ValueError(f"ConditionalGAN: num_classes must be >= 1, got {num_classes}")
        if "condition_dim" in gan_hparams:
            raise TypeError("ConditionalGAN: the condition width is num_classes; do not pass "
                            "condition_dim")
        super().__init__(data_shape, rng=rng, condition_dim=int(num_classes), **gan_hparams)
        self.num_classes = int(num_classes)

    def one_hot(self, y: Any, n: int) -> np.ndarray:
        """Labels y : (n,) integers in [0, C) -> (n, C) one-hot rows in the model's dtype."""
        labels = check_labels("ConditionalGAN", y, n, self.num_classes)
        return np.eye(self.num_classes, dtype=self.dtype)[labels]

    def _condition(self, n: int, conditions: dict[str, Any]) -> Tensor:
        """onehot(y) for the batch's labels y : (n,) -> (n, C)."""
        unknown = sorted(set(conditions) - set(self.conditions))
        if unknown:
            raise TypeError(f"ConditionalGAN: unknown conditions {unknown}; it takes y=")
        return Tensor(self.one_hot(conditions.get("y"), int(n)))

    def sample(self, n: int, rng: np.random.Generator, y: Any = None) -> np.ndarray:
        """G(z | y) for n draws z ~ N(0, I) with labels y : (n,) -> (n, *data_shape)."""
        return super().sample(n, rng, y=y)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, num_classes={self.num_classes}"
