"""Text-to-image GAN (GAN-CLS, Reed et al., 2016): a caption becomes an image.

Idea. Encode the caption t as a vector φ(t) and play the conditional GAN game with it:
G(z, φ(t)) draws an image, D(x, φ(t)) scores whether x is real *and* shows what t says. A
plain conditional D sees only (real, right text) and (fake, right text), so it can learn
"is this a real digit" and leave "does it match the text" to chance. The matching-aware
discriminator (GAN-CLS) adds a third pair, a real image with a wrong caption, labelled
fake, so a mismatch is something D must detect (Algorithm 1 of the paper):

    s_r = d(x, φ(t)),   s_w = d(x, φ(t̂)),   s_f = d(G(z, φ(t)), φ(t))
    L_D = −log σ(s_r) − ½ [log(1 − σ(s_w)) + log(1 − σ(s_f))]
    L_G = −log σ(s_f)                                          (non-saturating)

With a game of ``minigen.nn.losses`` (a real term plus a fake term),
L_D = ½ game(s_r, s_w) + ½ game(s_r, s_f): weights 1, ½ and ½ for the three pairs.

A wrong caption t̂ names another digit: class (c + k) mod 10 with k uniform on 1..9, in a
fresh caption from the training templates (``minigen.data.captions``). The caption of
another batch position names the same digit one time in ten, and would teach D to call a
matching pair fake.

Text encoder: word embeddings (32-d) → GRU (``minigen.nn.GRU``, hidden H = 64); φ(t) is
the hidden state after the caption's last word (padding after it is never read). It is
pre-trained and then frozen, as in the paper: the player "text_encoder" (embedding, GRU
and a linear head over the 10 classes) minimises the cross-entropy of the digit each
caption names, on ``pretrain_steps`` batches of captions drawn from the training
templates, at the start of the first ``train_step``; afterwards G and D see φ(t) as a
constant. Why: the class is all a caption says about the image here (the other words are
decoration), so it is the target worth encoding; a frozen φ is a target that does not move
under G; and the encoder's accuracy on held-out phrasings can be read apart from the
generator's (``benchmarks/text2image_table.py``).

Architecture (DCGAN's, ``dcgan.py``, at 8×8; C = ``channels``, P = ``text_projection``):

    G: [z, LeakyReLU(Linear_P(φ))] → ConvT 2×2 → BN, ReLU → ConvT 4×4 → BN, ReLU
       → ConvT 8×8 → tanh
    D: x → Conv 4×4 → LeakyReLU → Conv 2×2 → BN, LeakyReLU   (the trunk, (2C, 2, 2))
       LeakyReLU(Linear_P(φ)) copied to each of the 2×2 positions, concatenated with the
       trunk's channels → Conv 1×1 (2C) → LeakyReLU → Conv 2×2 → the logit

Data: "digits-captions" (x in [−1, 1], captions as word tokens (N, 10)).

Paper: S. Reed, Z. Akata, X. Yan, L. Logeswaran, B. Schiele, H. Lee (2016), "Generative
Adversarial Text to Image Synthesis", ICML.

Deviations: a word-level GRU pre-trained on the digit class, not a char-CNN-RNN trained on
a joint embedding of images and text; no interpolated embeddings (GAN-INT); no BatchNorm
after D's 1×1 convolution; 8×8 images. The games with a penalty-free critic only (not
"wasserstein": D has BatchNorm).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_choice
from minigen.data.captions import (
    HELD_OUT_TEMPLATES,
    NUM_CLASSES,
    PAD_TOKEN,
    TRAINING_TEMPLATES,
    VOCAB_SIZE,
    caption_classes,
    caption_lengths,
    encode_captions,
    make_captions,
)
from minigen.distributions import Categorical
from minigen.models.base import ShowsRows, TrainsItself
from minigen.nn import GRU, Conv2d, Embedding, LeakyReLU, Linear, Parameter, Sequential
from minigen.nn.losses import gan_loss

from .dcgan import DIGIT_SHAPE, dcgan_generator, dcgan_init, dcgan_trunk

GAMES = ("non_saturating", "minimax", "least_squares", "hinge")
FIGURE_COLUMNS = 8


class TextToImageGAN(TrainsItself, ShowsRows):
    """TextToImageGAN(data_shape=(1, 8, 8), *, rng, latent_dim=32, channels=32, ...).

    Parameters
    ----------
    data_shape : must be (1, 8, 8) (the embedded digits in [−1, 1])
    rng : draws the initial weights
    latent_dim : size of z ~ N(0, I)
    channels : C, the width of D's first layer (DCGAN's networks)
    word_dim : size of a word embedding
    text_hidden : H, the GRU's hidden size and the size of φ(t)
    text_projection : P, the size of each player's compression of φ(t)
    loss : one of ``GAMES`` (``minigen.nn.losses``)
    pretrain_steps : batches of captions the text encoder is pre-trained on
    pretrain_batch_size : captions per pre-training batch
    """

    conditions = ("text",)
    rows_figure = "captions.png"

    def __init__(
        self,
        data_shape: tuple[int, ...] = DIGIT_SHAPE,
        *,
        rng: np.random.Generator,
        latent_dim: int = 32,
        channels: int = 32,
        word_dim: int = 32,
        text_hidden: int = 64,
        text_projection: int = 32,
        loss: str = "non_saturating",
        pretrain_steps: int = 300,
        pretrain_batch_size: int = 128,
    ) -> None:
        super().__init__()
        if tuple(data_shape) != DIGIT_SHAPE:
            raise ValueError(f"TextToImageGAN: data_shape must be {DIGIT_SHAPE} (8×8 digits), "
                             f"got {tuple(data_shape)}")
        check_choice("loss", loss, GAMES)
        self.data_shape, self.loss_name = DIGIT_SHAPE, loss
        self.latent_dim, self.channels = int(latent_dim), int(channels)
        self.pretrain_steps = int(pretrain_steps)
        self.pretrain_batch_size = int(pretrain_batch_size)
        # the text encoder φ and its pre-training head
        self.words = Embedding(VOCAB_SIZE, word_dim, rng=rng)
        self.gru = GRU(word_dim, text_hidden, batch_first=True, rng=rng)
        self.class_head = Linear(text_hidden, NUM_CLASSES, rng=rng)
        # G
        self.generator_text = Sequential(Linear(text_hidden, text_projection, rng=rng),
                                         LeakyReLU(0.2))
        self.generator = dcgan_generator(self.latent_dim + text_projection, channels, rng)
        # D
        self.trunk = dcgan_trunk(channels, rng)
        self.discriminator_text = Sequential(Linear(text_hidden, text_projection, rng=rng),
                                             LeakyReLU(0.2))
        self.joint = Sequential(Conv2d(2 * channels + text_projection, 2 * channels, 1, rng=rng),
                                LeakyReLU(0.2))
        self.head = Conv2d(2 * channels, 1, 2, rng=rng)
        for network in (self.generator_text, self.generator, self.trunk,
                        self.discriminator_text, self.joint, self.head):
            dcgan_init(network, rng)
        self.register_buffer("pretrained_steps", np.zeros((), np.int64))

    @property
    def dtype(self) -> np.dtype:
        return self.head.weight.dtype

    def players(self) -> dict[str, list[Parameter]]:
        return {"text_encoder": (self.words.parameters() + self.gru.parameters()
                                 + self.class_head.parameters()),
                "generator": self.generator_text.parameters() + self.generator.parameters(),
                "discriminator": (self.trunk.parameters() + self.discriminator_text.parameters()
                                  + self.joint.parameters() + self.head.parameters())}

    # ----- captions ---------------------------------------------------------------------
    def tokens(self, text: Any, n: int) -> np.ndarray:
        """The captions of n examples as tokens (n, T): from one string (for all n), n
        strings, or int tokens (n, T) (ids in the vocabulary, padding only at the end)."""
        if text is None:
            raise ValueError(f"TextToImageGAN: pass the captions, text= {n} strings or int "
                             "tokens (n, T) (minigen.data.captions.encode_captions)")
        if isinstance(text, str):
            return np.repeat(encode_captions(text), n, axis=0)
        array = np.asarray(text)
        if array.dtype.kind in "UO":
            array = encode_captions(list(array.reshape(-1)))
        if array.ndim != 2 or len(array) != n or array.dtype.kind not in "iu":
            raise ValueError(f"TextToImageGAN: text must be {n} captions, as int tokens of "
                             f"shape ({n}, T); got shape {array.shape}, dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= VOCAB_SIZE):
            raise ValueError(f"TextToImageGAN: token ids must lie in [0, {VOCAB_SIZE}); got "
                             f"{array.min()} to {array.max()}")
        lengths = caption_lengths(array)
        trailing = np.arange(array.shape[1]) < lengths[:, None]
        if np.any(lengths == 0) or np.any((array != PAD_TOKEN) != trailing):
            raise ValueError("TextToImageGAN: every caption needs at least one word, and "
                             "padding (id 0) only after its last word")
        return array.astype(np.int64)

    def embed(self, tokens: np.ndarray) -> Tensor:
        """φ(t): the GRU's hidden state after each caption's last word, (N, T) -> (N, H)."""
        states, _ = self.gru(self.words(tokens))  # (N, T, H)
        return states[np.arange(len(tokens)), caption_lengths(tokens) - 1]

    def wrong_captions(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each caption, a caption naming another digit: class (c + k) mod 10 with k
        uniform on 1..9, phrased from the training templates. (N, T) -> (N, 10)."""
        classes = caption_classes(tokens)
        wrong = (classes + rng.integers(1, NUM_CLASSES, len(classes))) % NUM_CLASSES
        return encode_captions(make_captions(wrong, rng, TRAINING_TEMPLATES))

    def text_encoder_loss(self, tokens: np.ndarray) -> Tensor:
        """Pre-training: −E log p(c | t), c the class each caption names."""
        logits = self.class_head(self.embed(tokens))
        return -Categorical(logits).log_prob(caption_classes(tokens)).mean()

    def pretrain_text_encoder(self, rng: np.random.Generator) -> None:
        """Train φ on the classes of fresh training-template captions, up to
        ``pretrain_steps`` batches in all (counted in the checkpointed buffer)."""
        while int(self.pretrained_steps) < self.pretrain_steps:
            labels = rng.integers(0, NUM_CLASSES, self.pretrain_batch_size)
            tokens = encode_captions(make_captions(labels, rng, TRAINING_TEMPLATES))
            self.step_player("text_encoder", partial(self.text_encoder_loss, tokens))
            self.pretrained_steps = np.asarray(int(self.pretrained_steps) + 1)

    # ----- the two networks -------------------------------------------------------------
    def noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((int(n), self.latent_dim)).astype(self.dtype)

    def generate(self, z: Any, embedding: Tensor) -> Tensor:
        """G(z, φ) : (N, latent_dim), (N, H) -> (N, 1, 8, 8) in [−1, 1]."""
        inputs = ag.concat([ag.as_tensor(z), self.generator_text(embedding)], axis=1)
        return self.generator(inputs.reshape(len(inputs), -1, 1, 1))

    def score(self, features: Tensor, embedding: Tensor) -> Tensor:
        """d from the trunk's features (N, 2C, 2, 2) and φ (N, H) -> logits (N,)."""
        text = self.discriminator_text(embedding)  # (N, P), copied to every 2×2 position
        grid = text.reshape(*text.shape, 1, 1).expand((*text.shape, *features.shape[2:]))
        return self.head(self.joint(ag.concat([features, grid], axis=1))).reshape(-1)

    def discriminator_logits(self, x: Any, embedding: Tensor) -> Tensor:
        """d(x, φ) : (N, 1, 8, 8), (N, H) -> (N,); D = σ(d) says "real and matching"."""
        return self.score(self.trunk(ag.as_tensor(x)), embedding)

    # ----- the game ---------------------------------------------------------------------
    def matching_aware_loss(self, real: Tensor, wrong: Tensor, fake: Tensor) -> Tensor:
        """L_D from the logits of (real, right), (real, wrong) and (fake, right), each (N,):
        ½ game(s_r, s_w) + ½ game(s_r, s_f), i.e. weights 1, ½, ½."""
        game = gan_loss(self.loss_name).discriminator
        return 0.5 * game(real, wrong) + 0.5 * game(real, fake)

    def discriminator_loss(self, real: Tensor, fake: Tensor, right: Tensor,
                           wrong: Tensor) -> Tensor:
        """L_D on images (N, 1, 8, 8) and the embeddings of the right and wrong captions."""
        features = self.trunk(real)  # one trunk pass serves both pairs with the real images
        return self.matching_aware_loss(self.score(features, right), self.score(features, wrong),
                                        self.discriminator_logits(fake, right))

    def loss(self, x: Any, rng: np.random.Generator, text: Any = None) -> Tensor:
        """L_D on the batch, with fresh fakes and wrong captions (a figure to watch; no side
        effects)."""
        real = self.examples(x)
        tokens = self.tokens(text, len(real))
        right = self.embed(tokens).detach()
        wrong = self.embed(self.wrong_captions(tokens, rng)).detach()
        fake = self.generate(self.noise(len(real), rng), right).detach()
        return self.discriminator_loss(real, fake, right, wrong)

    def train_step(self, x: Any, rng: np.random.Generator, text: Any = None) -> dict[str, float]:
        """Pre-train φ if not yet done; then D's steps on the three pairs, one G step."""
        real = self.examples(x)
        tokens = self.tokens(text, len(real))
        self.pretrain_text_encoder(rng)
        with ag.no_grad():  # φ is frozen: a constant for both players
            right = self.embed(tokens)
            wrong = self.embed(self.wrong_captions(tokens, rng))
        for _ in range(self.player_steps("discriminator")):
            with ag.no_grad():
                fake = self.generate(self.noise(len(real), rng), right)  # G fixed in D's step
            d_loss = self.step_player(
                "discriminator", partial(self.discriminator_loss, real, fake, right, wrong))
        z = self.noise(len(real), rng)
        g_loss = self.step_player("generator", lambda: gan_loss(self.loss_name).generator(
            self.discriminator_logits(self.generate(z, right), right)))  # −E log D(G(z, φ), φ)
        return {"discriminator": d_loss, "generator": g_loss}

    # ----- sampling ---------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, text: Any = None) -> np.ndarray:
        """G(z, φ(t)) in evaluation mode (BatchNorm's running statistics), one caption per
        sample: text as for :meth:`tokens`. Returns (n, 1, 8, 8) in [−1, 1]."""
        tokens = self.tokens(text, n)  # n itself is checked by the protocol (Model)
        was_training = self.training
        self.eval()
        try:
            with ag.no_grad():
                return self.generate(self.noise(n, rng), self.embed(tokens)).data
        finally:
            self.train(was_training)

    def sampling_conditions(self, n: int, fields: dict[str, np.ndarray],
                            rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Sample i gets a held-out-phrasing caption of class i mod 10 (drawn with rng, as
        the test split's captions are); those classes are the labels the judge scores."""
        labels = np.arange(n) % NUM_CLASSES
        return {"text": encode_captions(make_captions(labels, rng, HELD_OUT_TEMPLATES))}, labels

    def figure_rows(self, fields: dict[str, np.ndarray], rng: np.random.Generator
                    ) -> tuple[str, dict[str, np.ndarray]]:
        """One row per caption: a held-out phrasing of every digit (held-out template
        c mod 5 for digit c, so each appears), then training phrasings of four digits;
        column j uses the same z in every row, so only the caption changes."""
        templates = [HELD_OUT_TEMPLATES[digit % len(HELD_OUT_TEMPLATES)]
                     for digit in range(NUM_CLASSES)]
        held_out = [make_captions([digit], rng, [template])[0]
                    for digit, template in enumerate(templates)]
        training = make_captions(np.array([1, 4, 7, 9]), rng, TRAINING_TEMPLATES)
        seed = int(rng.integers(2**32))  # every row draws the same z: only the caption changes
        rows = {f"{caption!r} (held out)": self.sample(
            FIGURE_COLUMNS, np.random.default_rng(seed), text=caption) for caption in held_out}
        rows.update({f"{caption!r} (training)": self.sample(
            FIGURE_COLUMNS, np.random.default_rng(seed), text=caption) for caption in training})
        return "GAN-CLS: one row per caption, the same z in each column", rows

    def read_classes(self, text: Sequence[str] | np.ndarray) -> np.ndarray:
        """The class the pre-trained text encoder's head reads from each caption: (N,)."""
        tokens = self.tokens(text, len(text))
        with ag.no_grad():
            return self.class_head(self.embed(tokens)).data.argmax(axis=1)

    def extra_repr(self) -> str:
        return (f"latent_dim={self.latent_dim}, channels={self.channels}, "
                f"loss={self.loss_name!r}, pretrain_steps={self.pretrain_steps}")
