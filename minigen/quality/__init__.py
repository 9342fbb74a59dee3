"""Sample quality: one judge and one set of figures for every model that samples.

``sample_quality(samples, data_name, rng=rng)`` is the entry point. It returns every
metric with its *floor*, the value real data scores on the same metric (key + "_floor").
A model is as good as real data on a metric when it reaches the floor; for "higher is
better" metrics the floor is a ceiling in practice. ``DIRECTION`` says, per key, which way
is better: "lower", "higher", or "match" (nearest the floor is best; neither direction
alone is better).

Digit data ("digits" and its views, see ``JUDGE_INPUTS``): samples are mapped into a
judge's input, passed through the judge (``minigen.quality.judge``), and compared with
the test split (300 digits) in its 128-d feature space:

==================================  =======  ==============================================
key                                 better   what
==================================  =======  ==============================================
fd                                  lower    Fréchet distance (Heusel et al. 2017)
kid                                 lower    KID, unbiased MMD², cubic kernel (Bińkowski
                                             et al. 2018)
precision, recall                   higher   k-NN manifolds, k = 3 (Kynkäänniemi et al.
                                             2019)
density                             match    k = 5 (Naeem et al. 2020); ≈ 1 for real data,
                                             above 1 when samples crowd dense regions
coverage                            higher   k = 5 (Naeem et al. 2020)
class_kl                            lower    KL(judge's predicted-class histogram ‖
                                             uniform), nats
class_fraction_0 … class_fraction_9 match    the predicted-class histogram itself
nn_distance_to_train                match    median distance of a sample to its nearest
                                             training digit; the floor is that of the
                                             test digits (memorisation when far below)
conditional_accuracy                higher   judge accuracy against the intended labels
                                             (only with ``labels``)
==================================  =======  ==============================================

Floors for digits: the "samples" are min(N, 1,497) training digits drawn without
replacement with ``rng``, scored against the same test split, so each floor is what a
perfect generator with (about) as many samples would score; train and test are disjoint.
The judge was fitted to the training digits, so they could sit apart from unseen digits
in its feature space; measured with 150 digits against 150 test digits (mean of 5
draws) the shift is small against the spread: FD 33.7 for training digits vs 32.6 for
other test digits (binary judge: 32.0 vs 28.9), KID within ±1.2 for both, against FD
≈ 300 and KID ≈ 80 for uniform noise.
Two exceptions: the floor of ``nn_distance_to_train`` is the test split's distance to the
training set (a training digit is its own nearest neighbour), and the floor of
``conditional_accuracy`` is the judge's accuracy on the test split.

2-D data ("ring-pacgan", "grid-pacgan"): the VEEGAN/PacGAN mode protocol
(``minigen.quality.modes``): ``modes_captured`` (higher), ``high_quality_fraction``
(higher), ``mode_kl`` (lower); the floor is the same figures on as many fresh draws of
the true mixture, made with ``rng``.
"""

from __future__ import annotations

import numpy as np

from minigen.data import MODE_PROTOCOL_MIXTURES, get_dataset

from .judge import JUDGE_INPUTS, NUM_CLASSES, judge_outputs, load_judge, to_judge_input
from .metrics import (
    DENSITY_COVERAGE_K,
    coverage,
    density,
    frechet_distance,
    histogram,
    kernel_inception_distance,
    kl_to_uniform,
    median_nn_distance,
    precision,
    recall,
)
from .modes import mode_statistics

FLOOR_SUFFIX = "_floor"

DIRECTION: dict[str, str] = {
    "fd": "lower",
    "kid": "lower",
    "precision": "higher",
    "recall": "higher",
    "density": "match",
    "coverage": "higher",
    "class_kl": "lower",
    **{f"class_fraction_{digit}": "match" for digit in range(NUM_CLASSES)},
    "nn_distance_to_train": "match",
    "conditional_accuracy": "higher",
    "modes_captured": "higher",
    "high_quality_fraction": "higher",
    "mode_kl": "lower",
}

QUALITY_DATA = (*JUDGE_INPUTS, *MODE_PROTOCOL_MIXTURES)
MIN_SAMPLES = DENSITY_COVERAGE_K + 1

__all__ = ["DIRECTION", "FLOOR_SUFFIX", "JUDGE_INPUTS", "QUALITY_DATA", "direction",
           "sample_quality", "to_judge_input"]


def direction(key: str) -> str:
    """"lower", "higher" or "match" for a key of ``sample_quality``'s result (floors too)."""
    base = key[:-len(FLOOR_SUFFIX)] if key.endswith(FLOOR_SUFFIX) else key
    if base not in DIRECTION:
        raise ValueError(f"no direction for {key!r}; known metrics: {tuple(DIRECTION)}")
    return DIRECTION[base]


def _feature_metrics(features: np.ndarray, logits: np.ndarray,
                     test_features: np.ndarray) -> dict[str, float]:
    """The metrics that compare a set of judged images with the test split."""
    class_histogram = histogram(logits.argmax(axis=1), NUM_CLASSES)
    return {
        "fd": frechet_distance(features, test_features),
        "kid": kernel_inception_distance(features, test_features),
        "precision": precision(features, test_features),
        "recall": recall(features, test_features),
        "density": density(features, test_features),
        "coverage": coverage(features, test_features),
        "class_kl": kl_to_uniform(class_histogram),
        **{f"class_fraction_{digit}": float(share)
           for digit, share in enumerate(class_histogram)},
    }


def _with_floors(metrics: dict[str, float], floors: dict[str, float]) -> dict[str, float]:
    result = {}
    for key, value in metrics.items():
        result[key] = value
        result[key + FLOOR_SUFFIX] = floors[key]
    return result


def _digit_quality(samples: np.ndarray, data_name: str, labels: np.ndarray | None,
                   rng: np.random.Generator) -> dict[str, float]:
    images, judge_data = to_judge_input(samples, data_name)
    judge = load_judge(judge_data)
    train_images, _ = get_dataset(judge_data, "train")
    test_images, test_labels = get_dataset(judge_data, "test")
    sample_features, sample_logits = judge_outputs(judge, images)
    train_features, train_logits = judge_outputs(judge, train_images)
    test_features, test_logits = judge_outputs(judge, test_images)

    real = rng.choice(len(train_images), size=min(len(images), len(train_images)),
                      replace=False)
    metrics = _feature_metrics(sample_features, sample_logits, test_features)
    floors = _feature_metrics(train_features[real], train_logits[real], test_features)
    metrics["nn_distance_to_train"] = median_nn_distance(sample_features, train_features)
    floors["nn_distance_to_train"] = median_nn_distance(test_features, train_features)
    if labels is not None:
        metrics["conditional_accuracy"] = float(np.mean(sample_logits.argmax(axis=1) == labels))
        floors["conditional_accuracy"] = float(np.mean(test_logits.argmax(axis=1)
                                                       == test_labels))
    return _with_floors(metrics, floors)


def _mode_quality(samples: np.ndarray, data_name: str,
                  rng: np.random.Generator) -> dict[str, float]:
    mixture = MODE_PROTOCOL_MIXTURES[data_name]
    real_points, _ = mixture.sample(len(samples), rng)
    return _with_floors(mode_statistics(samples, mixture), mode_statistics(real_points, mixture))


def _check_labels(labels: np.ndarray | None, num_samples: int) -> np.ndarray | None:
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape != (num_samples,) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be ({num_samples},) integers, the class each sample was "
                         f"drawn for; got shape {labels.shape}, dtype {labels.dtype}")
    return labels


def sample_quality(samples: np.ndarray, data_name: str, *, labels: np.ndarray | None = None,
                   rng: np.random.Generator) -> dict[str, float]:
    """Every sample-quality figure for ``samples`` and its real-data floor.

    Parameters
    ----------
    samples : (N, 1, 8, 8) for digit views, in the range of ``data_name`` (mapped by
        ``to_judge_input``); (N, 2) for the 2-D protocol sets. N >= 6; use a few hundred
        or more (the protocol uses 2,500; the figures depend on N, the floors use the same N)
    data_name : the data set the model was trained on, one of ``QUALITY_DATA``
    labels : (N,) the class each sample was drawn for (conditional models); adds
        ``conditional_accuracy``. Digits only
    rng : draws the real subset (digits) or real points (2-D) behind the floors

    Returns
    -------
    dict of float: each metric (see the module docstring and ``DIRECTION``) and
    ``<metric>_floor``

    Raises
    ------
    ValueError : unsupported ``data_name``, wrong shapes, too few samples
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    if data_name not in QUALITY_DATA:
        raise ValueError(f"sample quality is measured for data {QUALITY_DATA}; got "
                         f"{data_name!r}")
    samples = np.asarray(samples)
    if len(samples) < MIN_SAMPLES:
        raise ValueError(f"sample_quality needs at least {MIN_SAMPLES} samples (k-NN balls "
                         f"with k = {DENSITY_COVERAGE_K}); got shape {samples.shape}")
    labels = _check_labels(labels, len(samples))
    if data_name in MODE_PROTOCOL_MIXTURES:
        if labels is not None:
            raise ValueError(f"labels are only used for digit data, not {data_name!r}")
        return _mode_quality(samples, data_name, rng)
    return _digit_quality(samples, data_name, labels, rng)
