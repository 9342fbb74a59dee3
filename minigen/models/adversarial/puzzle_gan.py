"""Puzzle-GAN (Lee et al., 2018): the whole digit from a few of its pieces, places unknown.

Idea. Given K key patches cut from an image, with no word on where they were, draw the
whole image. The patches come as an unordered set, so a shared part encoder E embeds each
one and the embeddings are *summed*: h = Σ_k E(p_k) is the same for every order of the
patches. From h a mask network predicts where the parts belong (a mask image M̂ ∈ [0, 1]),
and a generator G(h, z) draws the whole image around them; noise z ~ N(0, I) stands for
what the parts leave open. Three losses (the paper's spatial, appearance and adversarial
terms), x the digit the patches were cut from and M its true patch-location mask (1 on
every pixel a patch covered):

    L_mask = mean |M̂ − M|                           where the parts go (spatial)
    L_app  = mean M ⊙ |G(h, z) − x|                  the parts drawn as they were, in place
    L_D    = −E log D(x) − E log(1 − D(G(h, z)))     real digits against completions
    L_G    = −E log D(G(h, z)) + λ_mask L_mask + λ_app L_app      (non-saturating)

Both means are over all pixels, so a perfect mask (M̂ = M) and a perfect copy inside it
(G = x where M = 1) make L_mask = L_app = 0 exactly. The "generator" player owns E, the
mask network and G; the "discriminator" player owns D.

Patches. ``cut_patches`` draws, for every digit, K distinct p×p windows with ink: a
window is eligible if at least ``min_ink`` of its p² pixels are above mid-grey (> 0 in the
signed view); K eligible windows are drawn uniformly without replacement (windows may
overlap), and if a digit has fewer than K eligible windows the most inked of the rest fill
up. The model cuts them itself from x in ``train_step`` (so ``conditions`` is empty); for
sampling, ``sampling_conditions`` cuts them from test digits and passes ``patches=`` to
``sample``, and the judge's labels are those digits' classes.

Data: "digits-signed", 8×8 digits in [−1, 1]. Architecture (d = ``embedding_dim``):

    E: p² → 128 → d  (LeakyReLU 0.2), one patch at a time, shared by all K
    mask network: d → 128 → 64 logits → σ → M̂ (N, 1, 8, 8)
    G: [h, z] → DCGAN's generator (``dcgan.py``: transposed convs, BatchNorm, ReLU, tanh)
    D: DCGAN's discriminator (strided convs, LeakyReLU 0.2, BatchNorm) → one logit

Order and floating point. A sum is symmetric, but floating-point addition is not
associative ((a + b) + c and (a + c) + b can differ in the last bit), and a batched matrix
product may round a row differently at a different row position. So E runs on one patch
slot at a time (a patch keeps its example's row), and the K embeddings are added in
increasing order, feature by feature: every output is then bit-identical for every order of
the patches (a test checks it).

Paper: D. Lee, S. Yun, S. Choi, H. Yoo, M.-H. Yang, S. Oh (2018), "Unsupervised Holistic
Image Generation from Key Local Patches", ECCV.

Defaults, chosen by looking at the completions (the run's completions.png) and at the
judge: K = 3 patches of 4×4 with at least 5 inked pixels each. With 3×3 patches (9 pixels
of 64, a piece of stroke that fits almost anywhere) the model learnt neither where the
parts go (the mask stayed the constant blob below) nor which digit they come from (13% of
completions of the class of the source digit, near chance) in 60 epochs; a 4×4 corner of
a digit is distinctive enough. λ_mask = λ_app = 30 and lr 10⁻³ for both players.

The L1 mask loss is minimised by the pixel-wise *median* of the masks the parts could
have: M̂ > ½ on the pixels more likely covered than not. Where the parts could sit in
several places the mask is a blob over the likely ones, not a choice among them.

Deviations, with reasons: MLPs for E and the mask network (a 4×4 patch is 16 numbers; the
paper's conv encoders serve 64×64 patches); D sees only the image, not the key parts (the
paper also gives D the parts): the appearance loss already ties each completion to its
parts, and at 8×8 a conditioned D mostly re-checks the same pixels; the non-saturating
game of ``minigen.nn.losses`` with DCGAN's networks.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.base import Batch, ReportsMetrics, ShowsRows, TrainsItself
from minigen.nn import Conv2d, LeakyReLU, Parameter, mlp
from minigen.nn.losses import gan_loss

from .dcgan import DIGIT_SHAPE, dcgan_generator, dcgan_init, dcgan_trunk

BACKGROUND = -1.0


def patch_positions(shape: tuple[int, int], patch_size: int) -> np.ndarray:
    """Every top-left corner (row, col) of a p×p window inside an H×W image: (P, 2)."""
    height, width = shape
    rows, cols = np.meshgrid(np.arange(height - patch_size + 1),
                             np.arange(width - patch_size + 1), indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], axis=1)


def cut_patches(x: np.ndarray, num_patches: int, patch_size: int, min_ink: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """K distinct inked p×p windows of each image (see the module docstring).

    x : (N, 1, H, W) in [−1, 1]. Returns patches (N, K, 1, p, p) and their top-left
    corners (N, K, 2).
    """
    x = np.asarray(x)
    corners = patch_positions(x.shape[-2:], patch_size)
    if num_patches > len(corners):
        raise ValueError(f"cut_patches: {num_patches} patches of {patch_size}×{patch_size} "
                         f"do not fit in {x.shape[-2]}×{x.shape[-1]} ({len(corners)} places)")
    offsets = np.arange(patch_size)
    rows = corners[:, 0, None, None] + offsets[None, :, None]  # (P, p, 1)
    cols = corners[:, 1, None, None] + offsets[None, None, :]  # (P, 1, p)
    windows = x[:, :, rows, cols]  # (N, 1, P, p, p)
    ink = (windows > 0).sum(axis=(1, 3, 4))  # inked pixels per window: (N, P)
    # eligible windows get keys in [0, 1) (a uniform draw), the rest 1 + (less ink = larger)
    keys = np.where(ink >= min_ink, rng.random(ink.shape), 2.0 - ink / patch_size ** 2)
    chosen = np.argsort(keys, axis=1, kind="stable")[:, :num_patches]  # (N, K)
    patches = np.take_along_axis(windows[:, 0], chosen[:, :, None, None], axis=1)
    return patches[:, :, None].astype(x.dtype), corners[chosen]


def patch_mask(corners: np.ndarray, patch_size: int, shape: tuple[int, ...]) -> np.ndarray:
    """M: 1 on every pixel a patch covers. corners (N, K, 2) -> (N, 1, H, W) float."""
    corners = np.asarray(corners)
    mask = np.zeros((len(corners), 1, *shape[-2:]))
    for n, k in np.ndindex(*corners.shape[:2]):
        row, col = corners[n, k]
        mask[n, 0, row:row + patch_size, col:col + patch_size] = 1.0
    return mask


def paste_patches(patches: np.ndarray, corners: np.ndarray, shape: tuple[int, ...]
                  ) -> np.ndarray:
    """The patches drawn at their places on background (−1): (N, 1, H, W), for figures."""
    canvas = np.full((len(patches), 1, *shape[-2:]), BACKGROUND, dtype=np.asarray(patches).dtype)
    p = patches.shape[-1]
    for n, k in np.ndindex(*corners.shape[:2]):
        row, col = corners[n, k]
        canvas[n, 0, row:row + p, col:col + p] = patches[n, k, 0]
    return canvas


class PuzzleGAN(TrainsItself, ShowsRows, ReportsMetrics):
    """PuzzleGAN(data_shape=(1, 8, 8), *, rng, num_patches=3, patch_size=4, ...).

    Parameters
    ----------
    data_shape : must be (1, 8, 8) (digits in [−1, 1])
    rng : draws the initial weights
    num_patches : K, key patches per digit
    patch_size : p, their side in pixels
    min_ink : pixels above mid-grey a window needs to be a key patch
    embedding_dim : d, the width of E's embedding (and of the sum h)
    latent_dim : size of the noise z ~ N(0, I) beside h
    channels : C of the DCGAN generator and discriminator
    mask_weight, appearance_weight : λ_mask, λ_app
    """

    rows_figure = "completions.png"
    value_range = (-1.0, 1.0)  # G ends in tanh
    loss_unit = "discriminator cross-entropy (nats)"

    def __init__(
        self,
        data_shape: tuple[int, ...] = DIGIT_SHAPE,
        *,
        rng: np.random.Generator,
        num_patches: int = 3,
        patch_size: int = 4,
        min_ink: int = 5,
        embedding_dim: int = 64,
        latent_dim: int = 8,
        channels: int = 32,
        mask_weight: float = 30.0,
        appearance_weight: float = 30.0,
    ) -> None:
        super().__init__()
        if tuple(data_shape) != DIGIT_SHAPE:
            raise ValueError(f"PuzzleGAN: data_shape must be {DIGIT_SHAPE} (8×8 digits), got "
                             f"{tuple(data_shape)}")
        if not (1 <= int(num_patches) and 1 <= int(patch_size) <= 8
                and 0 <= int(min_ink) <= int(patch_size) ** 2):
            raise ValueError(f"PuzzleGAN: need num_patches >= 1, 1 <= patch_size <= 8 and "
                             f"0 <= min_ink <= patch_size²; got {num_patches}, {patch_size}, "
                             f"{min_ink}")
        self.data_shape = DIGIT_SHAPE
        self.num_patches, self.patch_size = int(num_patches), int(patch_size)
        self.min_ink, self.latent_dim = int(min_ink), int(latent_dim)
        self.mask_weight, self.appearance_weight = float(mask_weight), float(appearance_weight)
        leaky = partial(LeakyReLU, 0.2)
        self.part_encoder = mlp([self.patch_size ** 2, 128, int(embedding_dim)], rng, leaky)
        self.mask_network = mlp([int(embedding_dim), 128, 64], rng, leaky)
        self.generator = dcgan_generator(int(embedding_dim) + self.latent_dim, channels, rng)
        self.trunk = dcgan_trunk(channels, rng)
        self.head = Conv2d(2 * int(channels), 1, 2, rng=rng)
        dcgan_init(self.generator, rng)
        dcgan_init(self.trunk, rng)
        dcgan_init(self.head, rng)

    @property
    def dtype(self) -> np.dtype:
        return self.head.weight.dtype

    def players(self) -> dict[str, list[Parameter]]:
        return {"generator": (self.part_encoder.parameters() + self.mask_network.parameters()
                              + self.generator.parameters()),
                "discriminator": self.trunk.parameters() + self.head.parameters()}

    # ----- parts in, mask and digit out -----------------------------------------------
    def cut(self, x: Any, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Key patches (N, K, 1, p, p) and their corners (N, K, 2) of digits x (N, 1, 8, 8)."""
        images = self.examples(x).data
        return cut_patches(images, self.num_patches, self.patch_size, self.min_ink, rng)

    def _patches(self, patches: Any) -> np.ndarray:
        patches = np.asarray(patches, dtype=self.dtype)
        p = self.patch_size
        if patches.ndim != 5 or patches.shape[2:] != (1, p, p) or len(patches) == 0:
            raise ValueError(f"PuzzleGAN: patches must be (N, K, 1, {p}, {p}) with N >= 1, "
                             f"got shape {patches.shape}")
        if not np.all(np.isfinite(patches)):
            raise ValueError("PuzzleGAN: patches hold NaN or inf; every value must be finite")
        return patches

    def embed(self, patches: Any) -> Tensor:
        """h = Σ_k E(p_k): patches (N, K, 1, p, p) -> (N, d), the same for every order."""
        patches = self._patches(patches)
        n, k = patches.shape[:2]
        flat = patches.reshape(n, k, -1)
        parts = ag.stack([self.part_encoder(Tensor(flat[:, slot])) for slot in range(k)],
                         axis=1)  # E one slot at a time: a patch keeps its row, (N, K, d)
        order = np.argsort(parts.data, axis=1, kind="stable")  # per feature, increasing
        rows, features = np.arange(n)[:, None, None], np.arange(parts.shape[2])[None, None, :]
        ranked = parts[rows, order, features]
        total = ranked[:, 0]
        for slot in range(1, k):
            total = total + ranked[:, slot]  # h = Σ_k E(p_k), in an order-free order
        return total

    def mask_logits(self, h: Tensor) -> Tensor:
        """Logits of M̂, where the parts belong: h (N, d) -> (N, 1, 8, 8)."""
        return self.mask_network(h).reshape(len(h), *self.data_shape)

    def draw(self, h: Tensor, z: Any) -> Tensor:
        """G(h, z): (N, d) and (N, latent_dim) -> digits (N, 1, 8, 8) in [−1, 1]."""
        inputs = ag.concat([h, ag.as_tensor(z)], axis=1)
        return self.generator(inputs.reshape(len(h), -1, 1, 1))

    def noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((int(n), self.latent_dim)).astype(self.dtype)

    def assemble(self, patches: Any, z: Any) -> tuple[Tensor, Tensor]:
        """(M̂, G(h, z)) from patches (N, K, 1, p, p) and noise z (N, latent_dim)."""
        h = self.embed(patches)
        return ag.sigmoid(self.mask_logits(h)), self.draw(h, z)

    def critic(self, x: Any) -> Tensor:
        """D's logit: (N, 1, 8, 8) -> (N,)."""
        return self.head(self.trunk(ag.as_tensor(x))).reshape(-1)

    # ----- the losses -----------------------------------------------------------------
    def discriminator_loss(self, real: Tensor, fake: Any) -> Tensor:
        """L_D = −E log D(x) − E log(1 − D(G(h, z))) on real digits and constant fakes."""
        return gan_loss("non_saturating").discriminator(self.critic(real), self.critic(fake))

    @staticmethod
    def mask_loss(predicted_mask: Tensor, true_mask: Any) -> Tensor:
        """L_mask = mean |M̂ − M| over every pixel of the batch."""
        return ag.abs(ag.as_tensor(predicted_mask) - ag.as_tensor(true_mask)).mean()

    @staticmethod
    def appearance_loss(image: Tensor, x: Any, true_mask: Any) -> Tensor:
        """L_app = mean M ⊙ |G − x| over every pixel: the parts, in place, as they were."""
        return (ag.as_tensor(true_mask) * ag.abs(ag.as_tensor(image) - ag.as_tensor(x))).mean()

    def generator_loss(self, real: Tensor, patches: np.ndarray, true_mask: np.ndarray,
                       z: np.ndarray, figures: dict[str, float]) -> Tensor:
        mask, image = self.assemble(patches, z)
        spatial = self.mask_loss(mask, true_mask)
        appearance = self.appearance_loss(image, real, true_mask)
        figures.update(mask_l1=float(spatial.data), appearance_l1=float(appearance.data))
        return (gan_loss("non_saturating").generator(self.critic(image))
                + self.mask_weight * spatial + self.appearance_weight * appearance)

    def _prepare(self, x: Any, rng: np.random.Generator, conditions: dict[str, Any]
                 ) -> tuple[Tensor, np.ndarray, np.ndarray]:
        if conditions:
            raise TypeError(f"PuzzleGAN cuts its patches from x; got conditions "
                            f"{sorted(conditions)}")
        real = self.examples(x)
        patches, corners = self.cut(real.data, rng)
        return real, patches, patch_mask(corners, self.patch_size, self.data_shape).astype(
            self.dtype)

    def loss(self, x: Any, rng: np.random.Generator, **conditions: Any) -> Tensor:
        """L_D on the batch against completions of its own patches (a figure to watch:
        log 4 = 1.386 at D = ½). No side effects on the weights."""
        real, patches, _ = self._prepare(x, rng, conditions)
        with ag.no_grad():
            fake = self.assemble(patches, self.noise(len(real), rng))[1]
        return self.discriminator_loss(real, fake)

    def train_step(self, x: Any, rng: np.random.Generator, **conditions: Any) -> dict[str, float]:
        """Cut K patches from each digit, then D's steps on fixed completions and one step of
        E, the mask network and G together. x : (N, 1, 8, 8) in [−1, 1]."""
        real, patches, true_mask = self._prepare(x, rng, conditions)
        for _ in range(self.player_steps("discriminator")):
            with ag.no_grad():
                fake = self.assemble(patches, self.noise(len(real), rng))[1]
            d_loss = self.step_player("discriminator", partial(self.discriminator_loss, real, fake))
        figures: dict[str, float] = {}
        z = self.noise(len(real), rng)
        g_loss = self.step_player(
            "generator", partial(self.generator_loss, real, patches, true_mask, z, figures))
        return {"discriminator": d_loss, "generator": g_loss, **figures}

    # ----- completion -----------------------------------------------------------------
    def predict(self, patches: Any, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(M̂, completion) for patches (N, K, 1, p, p), in evaluation mode (BatchNorm's
        running statistics): ((N, 1, 8, 8) in [0, 1], (N, 1, 8, 8) in [−1, 1])."""
        patches = self._patches(patches)
        was_training = self.training
        self.eval()
        try:
            with ag.no_grad():
                mask, image = self.assemble(patches, self.noise(len(patches), rng))
        finally:
            self.train(was_training)
        return mask.data, image.data

    def sample(self, n: int, rng: np.random.Generator, patches: Any = None) -> np.ndarray:
        """Digits completed from n sets of K key patches (n, K, 1, p, p): (n, 1, 8, 8)."""
        if patches is None:
            raise ValueError("PuzzleGAN.sample: pass patches= (n, K, 1, p, p) key patches; "
                             "sampling_conditions cuts them from test digits")
        patches = self._patches(patches)
        if len(patches) != n:
            raise ValueError(f"PuzzleGAN.sample: patches hold {len(patches)} sets, n is {n}")
        return self.predict(patches, rng)[1]

    def sampling_conditions(self, n: int, fields: Batch, rng: np.random.Generator
                            ) -> tuple[Batch, np.ndarray | None]:
        """Key patches cut from the test digits (cycled to n); the labels are those
        digits' classes, so the judge's accuracy says whether the parts kept the digit."""
        rows = np.arange(n) % len(fields["x"])
        patches, _ = self.cut(np.asarray(fields["x"])[rows], rng)
        labels = np.asarray(fields["y"])[rows] if "y" in fields else None
        return {"patches": patches}, labels

    def figure_rows(self, fields: Batch, rng: np.random.Generator
                    ) -> tuple[str, dict[str, np.ndarray]]:
        """Ten test digits: their key patches in place, the predicted mask, the completion
        and the real digit."""
        real = np.asarray(fields["x"])[:10]
        patches, corners = self.cut(real, rng)
        mask, image = self.predict(patches, rng)
        return (f"Puzzle-GAN: {self.num_patches} key patches of {self.patch_size}×"
                f"{self.patch_size} (shown in place; the model never sees where)",
                {"patches": paste_patches(patches, corners, self.data_shape),
                 "predicted mask": 2.0 * mask - 1.0, "output": image, "real": real})

    def metrics(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        """On test digits x: ``mask_iou`` (M̂ > ½ against M), ``mask_l1``, ``appearance_l1``."""
        real = self.examples(x).data
        patches, corners = self.cut(real, rng)
        true_mask = patch_mask(corners, self.patch_size, self.data_shape)
        mask, image = self.predict(patches, rng)
        return {"mask_iou": mask_iou(mask, true_mask),
                "mask_l1": float(self.mask_loss(mask, true_mask).data),
                "appearance_l1": float(self.appearance_loss(image, real, true_mask).data)}

    def extra_repr(self) -> str:
        return (f"num_patches={self.num_patches}, patch_size={self.patch_size}, "
                f"latent_dim={self.latent_dim}, lambda_mask={self.mask_weight}, "
                f"lambda_app={self.appearance_weight}")


def mask_iou(predicted_mask: np.ndarray, true_mask: np.ndarray) -> float:
    """|{M̂ > ½} ∩ {M = 1}| / |{M̂ > ½} ∪ {M = 1}| over the whole batch."""
    predicted, true = np.asarray(predicted_mask) > 0.5, np.asarray(true_mask) > 0.5
    union = np.logical_or(predicted, true).sum()
    return float(np.logical_and(predicted, true).sum() / union) if union else 1.0
