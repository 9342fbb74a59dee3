"""Test-set figures for any model, chosen by the capabilities it declares
(``minigen.models.base``).

Every quantity is a mean over examples, in nats unless its name says otherwise:

* ``loss``: the training objective on the test set (models with ``loss``);
* ``nll`` = −E[log p(x)] and ``bits_per_dim`` = nll / (D · ln 2), D the number of
  dimensions of one example (models with an exact ``log_prob``);
* ``elbo`` = E[ELBO(x)] ≤ E[log p(x)] and ``iwae_<k>`` = E[log (1/k) Σ_i p(x, z_i)/q(z_i|x)],
  which lies between the ELBO and log p(x) (latent-variable models);
* whatever ``model.metrics(x, rng)`` reports, ``num_parameters`` and, for counting
  models, ``num_free_parameters``;
* with ``quality_data``, for a generative model: the sample-quality block of
  ``minigen.quality`` (FD, KID, precision, recall, density, coverage, class histogram,
  memorisation, or the 2-D mode protocol), each figure beside its real-data ``_floor``.
  A model whose samples are Bernoulli means of binary data (the VAE family draws the
  decoder's mean) is judged on x ~ Bernoulli(mean), drawn with ``rng``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from autograd import Tensor, no_grad
from minigen.models.base import (
    CountsFreeParameters,
    ExplicitDensity,
    LatentVariable,
    Model,
    ReportsMetrics,
)
from minigen.quality import QUALITY_DATA, sample_quality

DEFAULT_IWAE_K = 50
DEFAULT_QUALITY_SAMPLES = 1000
BINARY_DATA = ("digits-binary",)


def _as_float(value: Any) -> float:
    return float(value.data if isinstance(value, Tensor) else value)


def _batched_mean(
    compute: Callable[..., Any], x: np.ndarray, conditions: dict[str, np.ndarray],
    batch_size: int
) -> float:
    """Example-weighted mean of ``compute(x_batch, **conditions_batch)`` over batches of ``x``.

    ``compute`` returns either a per-example array or a scalar (a batch mean).
    """
    total = 0.0
    for start in range(0, len(x), batch_size):
        x_batch = x[start:start + batch_size]
        given = {name: values[start:start + batch_size] for name, values in conditions.items()}
        value = compute(x_batch, **given)
        value = np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)
        total += float(value.sum()) if value.ndim else float(value) * len(x_batch)
    return total / len(x)


def evaluate(
    model: Model,
    x: np.ndarray,
    y: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    batch_size: int = 256,
    iwae_k: int | None = DEFAULT_IWAE_K,
    conditions: dict[str, np.ndarray] | None = None,
    quality_data: str | None = None,
    quality_samples: int = DEFAULT_QUALITY_SAMPLES,
    fields: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Evaluate ``model`` on examples ``x`` under ``no_grad`` and in eval mode.

    Parameters
    ----------
    model : a model following ``minigen.models.base``
    x : (N, ...) test examples in the model's data space
    y : (N,) labels, passed as ``y=`` to every method (shorthand for ``conditions={"y": y}``);
        give them only to a model whose ``conditions`` include "y"
    rng : draws the model's noise (default ``np.random.default_rng(0)``)
    batch_size : examples per forward pass
    iwae_k : importance samples for the IWAE bound; None skips it (it costs k passes)
    conditions : the batch fields the model conditions on, each (N, ...)
    quality_data : the data set's name; a generative model is then also judged on
        ``quality_samples`` samples (skipped when no judge covers the data set)
    fields : the split's batch fields (``minigen.data.get_fields``), from which
        ``model.sampling_conditions`` takes what the judged samples are conditioned on and
        the classes they should show (default: x and ``conditions``)

    Returns
    -------
    dict of floats: the keys the model's capabilities imply (see the module docstring).
    """
    conditions = dict(conditions or {})
    if y is not None:
        conditions["y"] = y
    if len(x) == 0:
        raise ValueError(f"evaluate: x is empty (shape {np.shape(x)}); need at least one example")
    for name, values in conditions.items():
        if len(values) != len(x):
            raise ValueError(f"evaluate: x has {len(x)} examples but {name} has "
                             f"{len(values)} rows")
    if batch_size < 1 or (iwae_k is not None and iwae_k < 1):
        raise ValueError(f"evaluate: batch_size and iwae_k must be >= 1, got {batch_size}, "
                         f"{iwae_k}")
    rng = np.random.default_rng(0) if rng is None else rng
    was_training = model.training
    model.eval()
    metrics: dict[str, float] = {}
    try:
        with no_grad():
            if model.test_loss:
                metrics["loss"] = _batched_mean(
                    lambda xb, **given: model.loss(xb, rng, **given), x, conditions,
                    batch_size)
            if isinstance(model, ExplicitDensity):
                nll = -_batched_mean(lambda xb, **given: model.log_prob(xb, **given),
                                     x, conditions, batch_size)
                metrics["nll"] = nll
                # bits/dim = nll / (D ln 2): nats per example -> bits per dimension
                metrics["bits_per_dim"] = nll / (math.prod(x.shape[1:]) * math.log(2))
            if isinstance(model, LatentVariable):
                metrics["elbo"] = _batched_mean(
                    lambda xb, **given: model.elbo(xb, rng, **given), x, conditions, batch_size)
                if iwae_k is not None:
                    metrics[f"iwae_{iwae_k}"] = _batched_mean(
                        lambda xb, **given: model.iwae(xb, iwae_k, rng, **given), x, conditions,
                        max(1, 4 * batch_size // iwae_k))  # k samples per example: fewer examples
            if isinstance(model, ReportsMetrics):
                metrics.update({key: _as_float(value)
                                for key, value in model.metrics(x, rng).items()})
            if model.generative and quality_data in QUALITY_DATA:
                metrics.update(judge_samples(model, quality_data, quality_samples, rng,
                                             fields=fields or {"x": x, **conditions}))
    finally:
        model.train(was_training)
    metrics["num_parameters"] = int(model.num_parameters())
    if isinstance(model, CountsFreeParameters):
        metrics["num_free_parameters"] = int(model.num_free_parameters())
    return metrics


def judge_samples(model: Model, data_name: str, n: int, rng: np.random.Generator,
                  fields: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """The sample-quality block for ``n`` samples of ``model`` (see ``minigen.quality``).

    The samples are conditioned as ``model.sampling_conditions(n, fields, rng)`` says
    (``fields``: the test split's batch fields): a model conditioned on labels draws class
    ``i mod num_classes`` for sample i, and is also scored on the judge's accuracy
    against the classes its conditions ask for.
    """
    given, labels = model.sampling_conditions(n, fields or {}, rng)
    samples = np.asarray(model.sample(n, rng, **given), dtype=np.float64)
    if data_name in BINARY_DATA and not np.isin(samples, (0.0, 1.0)).all():
        samples = (rng.random(samples.shape) < samples).astype(np.float64)  # x ~ Bern(mean)
    return sample_quality(samples, data_name, labels=labels, rng=rng)
