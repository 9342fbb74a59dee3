"""The digit judge: a small convnet classifier whose penultimate layer is the feature space.

Sample-quality metrics need a feature space in which realistic digits sit near real
ones (Theis et al. 2016: never Parzen windows in pixel space). Here that space is the
128-unit hidden layer of a classifier trained on the real training digits only, like
FID's Inception network but small enough to train in under a minute of one core:

    x (N, 1, 8, 8) ─ conv 3×3, 32 ─ ReLU ─ conv 3×3, 64 ─ ReLU ─ max-pool 2
      ─ flatten 1024 ─ dropout ─ linear 128 ─ ReLU ═ features (N, 128) ─ dropout ─ linear 10

Sizes, dropout 0.5, the threshold augmentation below and 40 epochs were chosen on a
validation split (the last 300 of the 1,497 training digits; the binary judge reached
98.0% and 98.3% there with seeds 0 and 1, against 95.3–97.3% for smaller nets without
the augmentation); the test split was used only to report the accuracies.

Two judges, one per data view a model can be trained on:

* "digits": grey levels / 16 in [0, 1] (the "unit" view);
* "digits-binary": the {0, 1} view, so binary models are judged on the data they model.
  The binary judge's training images are the training grey levels thresholded at a level
  drawn from 6..10 of 16 for each image and epoch (the binary view uses 8): on the test
  split the judge is always given the view itself. Thresholds near 8 show the same digit,
  so this enlarges 1,497 binary images without touching the test split.

Training is deterministic: float64 arithmetic, one ``np.random.default_rng(seed)`` behind
initialisation, shuffling, thresholds and dropout. ``train_judge`` reproduces the weights
shipped beside this module (``judge_digits.npz``, ``judge_digits-binary.npz``, stored in
float32; ``python -m minigen.quality`` rewrites them), and ``load_judge`` reads them with
``allow_pickle=False``.

What a judge accepts: images of shape (N, 1, 8, 8) in its view's range [0, 1]; values
outside it are scored as they are, not clipped, so a model that draws them is judged on
them. Models that draw in another range are mapped first, explicitly, by
``to_judge_input`` (see ``JUDGE_INPUTS``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen import nn
from minigen.data import DataLoader, get_dataset
from minigen.distributions import Categorical
from minigen.optim import Adam

IMAGE_SHAPE = (1, 8, 8)
NUM_CLASSES = 10
MAX_GREY = 16


@dataclass(frozen=True)
class JudgeRecipe:
    """How a judge is built and trained (the shipped weights come from these values).

    Attributes
    ----------
    conv_channels : channels of the two 3×3 convolutions
    feature_size : width of the penultimate layer, the feature space
    dropout : drop probability before and after the feature layer (training only)
    epochs, batch_size, lr, weight_decay : Adam on the mean cross-entropy
    seed : seeds the one generator behind everything random in training
    thresholds : grey levels (of 16) a binary judge's training images are cut at
    """

    conv_channels: tuple[int, int] = (32, 64)
    feature_size: int = 128
    dropout: float = 0.5
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    thresholds: tuple[int, ...] = (6, 7, 8, 9, 10)


RECIPE = JudgeRecipe()
JUDGE_DATA = ("digits", "digits-binary")


class DigitJudge(nn.Module):
    """Convnet classifier of 8×8 digits; ``features`` is its penultimate layer.

    Parameters
    ----------
    rng : draws the initial weights
    recipe : sizes (``conv_channels``, ``feature_size``, ``dropout``)
    dtype : float64 to train reproducibly, float32 as shipped
    """

    def __init__(self, *, rng: np.random.Generator, recipe: JudgeRecipe = RECIPE,
                 dtype: type = np.float64) -> None:
        super().__init__()
        first, second = recipe.conv_channels
        self.conv1 = nn.Conv2d(1, first, 3, 1, 1, rng=rng, dtype=dtype)
        self.conv2 = nn.Conv2d(first, second, 3, 1, 1, rng=rng, dtype=dtype)
        self.hidden = nn.Linear(second * 4 * 4, recipe.feature_size, rng=rng, dtype=dtype)
        self.classifier = nn.Linear(recipe.feature_size, NUM_CLASSES, rng=rng, dtype=dtype)
        self.dropout = recipe.dropout

    def features(self, x: np.ndarray | Tensor,
                 rng: np.random.Generator | None = None) -> Tensor:
        """Penultimate activations.  x : (N, 1, 8, 8) -> (N, feature_size).

        ``rng`` draws dropout masks in training mode; in eval mode it is not used.
        """
        maps = ag.relu(self.conv1(x))
        pooled = ag.max_pool2d(ag.relu(self.conv2(maps)), 2)  # (N, C, 4, 4)
        flat = nn.dropout(pooled.reshape(pooled.shape[0], -1), self.dropout, rng,
                          self.training)
        return ag.relu(self.hidden(flat))

    def forward(self, x: np.ndarray | Tensor, rng: np.random.Generator | None = None) -> Tensor:
        """Class logits.  x : (N, 1, 8, 8) -> (N, 10)."""
        features = self.features(x, rng)
        return self.classifier(nn.dropout(features, self.dropout, rng, self.training))


def _check_judge_data(data_name: str) -> None:
    if data_name not in JUDGE_DATA:
        raise ValueError(f"a digit judge exists for {JUDGE_DATA}; got {data_name!r} (map "
                         "other views with to_judge_input)")


def _training_images(data_name: str, grey: np.ndarray, rng: np.random.Generator,
                     recipe: JudgeRecipe) -> np.ndarray:
    """The judge's input view of a batch of grey levels (N, 1, 8, 8) in 0..16."""
    if data_name == "digits":
        return grey / MAX_GREY
    # A threshold per image, drawn around the binary view's 8 (see the module docstring).
    thresholds = rng.choice(recipe.thresholds, size=(len(grey), 1, 1, 1))
    return (grey >= thresholds).astype(np.float64)


def train_judge(data_name: str, recipe: JudgeRecipe = RECIPE) -> DigitJudge:
    """Train a judge for ``data_name`` on the training split, deterministically.

    Minimises the mean cross-entropy −log softmax(logits)_y with Adam, in float64.

    Parameters
    ----------
    data_name : "digits" or "digits-binary"
    recipe : sizes and training settings; the default produced the shipped weights

    Returns
    -------
    DigitJudge in eval mode, float64
    """
    _check_judge_data(data_name)
    grey, labels = get_dataset("digits-grey", "train")
    rng = np.random.default_rng(recipe.seed)
    judge = DigitJudge(rng=rng, recipe=recipe)
    optimizer = Adam(judge.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    loader = DataLoader(grey.astype(np.float64), labels, batch_size=recipe.batch_size,
                        shuffle=True, rng=rng)
    judge.train()
    for _ in range(recipe.epochs):
        for grey_batch, label_batch in loader:
            images = _training_images(data_name, grey_batch, rng, recipe)
            optimizer.zero_grad()
            # cross-entropy = −log softmax(logits)_y, averaged over the batch
            loss = -Categorical(judge(images, rng)).log_prob(label_batch).mean()
            loss.backward()
            optimizer.step()
    judge.eval()
    return judge


def weights_filename(data_name: str) -> str:
    """Name of the shipped weights of the judge for ``data_name``."""
    _check_judge_data(data_name)
    return f"judge_{data_name}.npz"


def save_judge(judge: DigitJudge, path: str | os.PathLike) -> None:
    """Write the judge's weights as float32 to an ``.npz`` (no pickled objects)."""
    state = {name: value.astype(np.float32) for name, value in judge.state_dict().items()}
    with open(path, "wb") as file:
        np.savez(file, **state)


@functools.cache
def load_judge(data_name: str) -> DigitJudge:
    """The shipped judge for ``data_name`` ("digits" or "digits-binary"), in eval mode.

    Loaded once per process and shared: do not train it.
    """
    source = resources.files(__package__).joinpath(weights_filename(data_name))
    with source.open("rb") as file, np.load(file, allow_pickle=False) as stored:
        state = {name: stored[name] for name in stored.files}
    judge = DigitJudge(rng=np.random.default_rng(0), dtype=np.float32)
    judge.load_state_dict(state)
    judge.eval()
    return judge


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"the digit judge takes images of shape (N, 1, 8, 8) with values in "
                         f"[0, 1]; got shape {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError("the digit judge was given NaN or infinite pixels")
    return images


def judge_outputs(judge: DigitJudge, images: np.ndarray,
                  batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Features and logits of ``images`` under ``no_grad``.

    Parameters
    ----------
    judge : a DigitJudge in eval mode
    images : (N, 1, 8, 8) in [0, 1] (the judge's view; see ``to_judge_input``)

    Returns
    -------
    features : (N, feature_size) float64
    logits : (N, 10) float64
    """
    images = _check_images(images)
    dtype = judge.classifier.weight.dtype
    features, logits = [], []
    with ag.no_grad():
        for start in range(0, len(images), batch_size):
            batch_features = judge.features(images[start:start + batch_size].astype(dtype))
            features.append(batch_features.data.astype(np.float64))
            logits.append(judge.classifier(batch_features).data.astype(np.float64))
    return np.concatenate(features), np.concatenate(logits)


def _grey_levels_to_unit(samples: np.ndarray) -> np.ndarray:
    return samples / MAX_GREY


def _signed_to_unit(samples: np.ndarray) -> np.ndarray:
    return (samples + 1.0) / 2.0  # [−1, 1] -> [0, 1]


def _dequantized_to_unit(samples: np.ndarray) -> np.ndarray:
    # dequantize maps level g to (g + u) / 17, u ~ U[0, 1): floor(17 x) recovers g exactly,
    # and a continuous model's sample rounds to the level whose cell it falls in.
    levels = np.clip(np.floor(samples * (MAX_GREY + 1)), 0, MAX_GREY)
    return levels / MAX_GREY


def _unchanged(samples: np.ndarray) -> np.ndarray:
    return samples


def _checked_binary(samples: np.ndarray) -> np.ndarray:
    # Bernoulli means are not binary samples: the binary judge never saw grey pixels.
    if not np.isin(samples, (0.0, 1.0)).all():
        raise ValueError(
            f"samples of digits-binary must be 0 or 1 (a binary model's draws); got values in "
            f"[{samples.min():.3g}, {samples.max():.3g}]. A model that returns Bernoulli "
            "means is sampled with x = (rng.random(means.shape) < means)")
    return samples


# The data set a model is trained on -> (the judge that scores it, the map into that
# judge's [0, 1] input). Only these views are judged; nothing is guessed from the values.
JUDGE_INPUTS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "digits": ("digits", _unchanged),
    "digits-binary": ("digits-binary", _checked_binary),
    "digits-grey": ("digits", _grey_levels_to_unit),
    "digits-signed": ("digits", _signed_to_unit),
    "digits-dequantized": ("digits", _dequantized_to_unit),
    # the translation domains (minigen.data.digit_domains) are signed digits too
    "digits-pix2pix": ("digits", _signed_to_unit),
    "digits-thin-bold": ("digits", _signed_to_unit),
    "digits-domains": ("digits", _signed_to_unit),
    # signed digits with captions (minigen.data.captions)
    "digits-captions": ("digits", _signed_to_unit),
}


def to_judge_input(samples: np.ndarray, data_name: str) -> tuple[np.ndarray, str]:
    """Map samples drawn in the space of ``data_name`` into their judge's input.

    ====================  =================  =======================================
    data_name             judge              map
    ====================  =================  =======================================
    "digits"              "digits"           x (already [0, 1])
    "digits-binary"       "digits-binary"    x, which must be 0 or 1
    "digits-grey"         "digits"           x / 16
    "digits-signed"       "digits"           (x + 1) / 2, from [−1, 1]
    "digits-dequantized"  "digits"           clip(floor(17 x), 0, 16) / 16
    "digits-pix2pix",     "digits"           (x + 1) / 2, from [−1, 1]
    "digits-thin-bold",
    "digits-domains",
    "digits-captions"
    ====================  =================  =======================================

    Parameters
    ----------
    samples : (N, 1, 8, 8) in the range of ``data_name``'s view
    data_name : a key of ``JUDGE_INPUTS``

    Returns
    -------
    images : (N, 1, 8, 8) float64 in [0, 1] for in-range input
    judge_data : "digits" or "digits-binary", the judge to load

    Raises
    ------
    ValueError : an unsupported ``data_name``, or samples not of shape (N, 1, 8, 8)
    """
    if data_name not in JUDGE_INPUTS:
        raise ValueError(f"no digit judge for data {data_name!r}; judged views: "
                         f"{tuple(JUDGE_INPUTS)}")
    samples = _check_images(np.asarray(samples, dtype=np.float64))
    judge_data, mapping = JUDGE_INPUTS[data_name]
    return mapping(samples), judge_data

