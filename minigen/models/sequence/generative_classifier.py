"""The generative classifier: class densities, Bayes' rule, and the right to refuse.

Idea: model how each class *generates* its data, p(x | y), and the prior p(y); classify
by Bayes' rule in log space,

    log p(y | x) = log p(x | y) + log p(y) − logsumexp_y' [log p(x | y') + log p(y')],

and, unlike a discriminative classifier, refuse an input the model finds implausible:
reject x when log p(x) = logsumexp_y [log p(x | y) + log p(y)] falls below a threshold set
at a percentile of the training log-likelihoods (:meth:`calibrate`). A softmax classifier
must put its mass on some class whatever it is shown.

Plain likelihood is known to fail at this: a density model can give data it never saw a
*higher* likelihood than its training data (Nalisnick et al., 2019, "Do deep generative
models know what they don't know?"); on binary digits a blank image is the classic case,
since "all pixels off" is each pixel's most likely value. The likelihood-ratio score of
Ren et al. (2019, "Likelihood ratios for out-of-distribution detection", NeurIPS)
divides out what the data have in common with generic background statistics,

    LLR(x) = log p_θ(x) − log p_θ₀(x),

where p_θ₀ is the same kind of model trained on training inputs perturbed at rate μ (each
dimension replaced with probability μ by a uniform draw: a random bit for binary data).
High LLR = in distribution.

Class densities (``density``):
* "gaussian": class-conditional Gaussians N(μ_y, Σ_y + εI), fitted in closed form from
  running sums (the baseline; on binary data it is a density, not a probability mass);
* "made", "nade", "rnn_lm", "lstm_lm", "gru_lm", "transformer_lm": one registered
  autoregressive model per class (binary images; built by ``minigen.models.registry.build``
  with its registry defaults, overridden by ``density_hparams``), trained by gradient on
  its class's examples.
The background model is one more of the same kind (slot K). The prior p(y) is counted.

Objective: the joint negative log-likelihood −log p(x, y) = −log p(x | y) − log p(y)
(``loss``), plus −log p_θ₀(x̃) for the background on perturbed x̃ while training.

Deviation from Ren et al.: they perturb by the rate μ ∈ [0.1, 0.2] chosen on validation
outliers and add L2 regularisation to the background model; we fix μ = 0.2 and add none,
so no outlier set informs training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import solve_triangular

from autograd import Tensor
from minigen.checks import check_labels
from minigen.models import registry
from minigen.models.base import ExplicitDensity, Model, SecondStage, TrainsItself
from minigen.nn import Module, Parameter

from .base import check_rng, evaluating

# Registered explicit densities of binary images, built through the registry (its default
# hyper-parameters, overridden by ``density_hparams``), so no family imports another.
NEURAL_DENSITIES = ("made", "nade", "rnn_lm", "lstm_lm", "gru_lm", "transformer_lm")
DENSITIES = ("gaussian", *NEURAL_DENSITIES)
# Used when density_hparams is None: a MADE 64-128-64 with one natural ordering per class,
# its width, lr (3e-3) and epochs (40) chosen on a validation split of the training digits.
DEFAULT_DENSITY_HPARAMS: dict[str, dict[str, Any]] = {
    "made": {"hidden": [128], "num_masks": 1, "ordering": "natural"}}


class GaussianDensity(Module):
    """N(μ, Σ + εI) fitted from running sums: μ = S₁/n, Σ = S₂/n − μμᵀ (the MLE).

    x : (N, *data_shape) flattened to D dims. Buffers hold n, S₁ (D,), S₂ (D, D).
    """

    def __init__(self, num_dims: int, covariance_floor: float) -> None:
        super().__init__()
        self.num_dims, self.covariance_floor = num_dims, float(covariance_floor)
        self.register_buffer("count", np.zeros(()))
        self.register_buffer("total", np.zeros(num_dims))
        self.register_buffer("outer", np.zeros((num_dims, num_dims)))
        self.register_buffer("mean", np.zeros(num_dims))
        self.register_buffer("cholesky", np.eye(num_dims))

    def count_batch(self, flat: np.ndarray) -> None:
        """Add rows (n, D) to the sums and refit μ and the Cholesky factor of Σ + εI."""
        flat = flat.astype(np.float64)
        self.count = self.count + len(flat)
        self.total = self.total + flat.sum(axis=0)
        self.outer = self.outer + flat.T @ flat
        if self.count > 0:
            self.mean = self.total / self.count  # μ = S₁ / n
            covariance = self.outer / self.count - np.outer(self.mean, self.mean)
            self.cholesky = np.linalg.cholesky(covariance + self.covariance_floor
                                               * np.eye(self.num_dims))

    def log_prob_flat(self, flat: np.ndarray) -> np.ndarray:
        """log N(x; μ, LLᵀ) = −½‖L⁻¹(x − μ)‖² − Σ log L_ii − (D/2) log 2π, (n,)."""
        white = solve_triangular(self.cholesky, (flat - self.mean).T, lower=True)
        return (-0.5 * (white**2).sum(axis=0) - np.log(np.diag(self.cholesky)).sum()
                - 0.5 * self.num_dims * np.log(2 * np.pi))

    def sample_flat(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.mean + rng.standard_normal((n, self.num_dims)) @ self.cholesky.T


class GenerativeClassifier(ExplicitDensity, TrainsItself, SecondStage):
    """K class densities p(x | y), a counted prior p(y), and a background density.

    Parameters
    ----------
    data_shape : one example's shape ((1, H, W) binary images for the neural densities)
    rng : draws initial weights
    num_classes : K
    density : one of ``DENSITIES`` (see the module docstring)
    density_hparams : keyword arguments of each neural density (e.g. MADE's hidden); None:
        ``DEFAULT_DENSITY_HPARAMS`` for that density, else the registry's defaults
    covariance_floor : ε added to each Gaussian's diagonal
    perturbation : μ, the background model's replacement rate
    """

    conditions = ("y",)

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 num_classes: int = 10, density: str = "made",
                 density_hparams: dict[str, Any] | None = None,
                 covariance_floor: float = 0.05, perturbation: float = 0.2) -> None:
        super().__init__()
        check_rng(rng, "GenerativeClassifier")
        if density not in DENSITIES:
            raise ValueError(f"GenerativeClassifier: density must be one of {DENSITIES}, got "
                             f"{density!r}")
        if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(f"GenerativeClassifier: num_classes must be an int >= 1, got "
                             f"{num_classes!r}")
        if not 0.0 <= perturbation <= 1.0:
            raise ValueError(f"GenerativeClassifier: perturbation must lie in [0, 1], got "
                             f"{perturbation}")
        self.data_shape = tuple(int(d) for d in data_shape)
        self.num_dims = int(np.prod(self.data_shape))
        self.num_classes, self.density, self.perturbation = int(num_classes), density, perturbation
        for slot in range(self.num_classes + 1):  # slots 0 … K−1: classes; slot K: background
            hparams = (DEFAULT_DENSITY_HPARAMS.get(density, {}) if density_hparams is None
                       else density_hparams)
            setattr(self, f"density{slot}", self._new_density(density, hparams,
                                                              covariance_floor, rng))
        self.register_buffer("class_counts", np.zeros(self.num_classes))
        self.register_buffer("threshold", np.array(-np.inf))

    def _new_density(self, density: str, hparams: dict[str, Any], floor: float,
                     rng: np.random.Generator) -> Module:
        if density == "gaussian":
            return GaussianDensity(self.num_dims, floor)
        model = registry.build(density, self.data_shape, rng, **hparams)
        if not isinstance(model, ExplicitDensity):
            raise TypeError(f"GenerativeClassifier: {density} is not an explicit density")
        return model

    def class_density(self, slot: int) -> Module:
        """The density of class ``slot`` (0 … K−1), or the background model (slot K)."""
        return getattr(self, f"density{slot}")

    # ----- the densities -------------------------------------------------------------
    def _density_log_prob(self, slot: int, x: np.ndarray) -> np.ndarray:
        model = self.class_density(slot)
        if isinstance(model, GaussianDensity):
            return model.log_prob_flat(x.reshape(len(x), -1))
        with evaluating(model):
            return np.asarray(model.log_prob(x), dtype=np.float64)

    def log_prior(self) -> np.ndarray:
        """(K,) log p(y): the counted class frequencies (uniform before any counting)."""
        total = self.class_counts.sum()
        if total == 0:
            return np.full(self.num_classes, -np.log(self.num_classes))
        with np.errstate(divide="ignore"):
            return np.log(self.class_counts / total)

    def class_log_likelihoods(self, x: Any) -> np.ndarray:
        """(N, K): log p(x | y = k) for every class k."""
        x = self.examples(x).data
        return np.stack([self._density_log_prob(k, x) for k in range(self.num_classes)], axis=1)

    def log_joint(self, x: Any) -> np.ndarray:
        """(N, K): log p(x, y = k) = log p(x | k) + log p(k)."""
        return self.class_log_likelihoods(x) + self.log_prior()

    def log_posterior(self, x: Any) -> np.ndarray:
        """(N, K): log p(y | x) by Bayes' rule in log space (each row logsumexps to 0)."""
        joint = self.log_joint(x)
        return joint - np.logaddexp.reduce(joint, axis=1, keepdims=True)

    def log_prob(self, x: Any, y: Any = None) -> np.ndarray:
        """log p(x | y) with labels y (N,), or log p(x) = logsumexp_y log p(x, y) without."""
        if y is None:
            return np.logaddexp.reduce(self.log_joint(x), axis=1)
        labels = self._check_labels(y, len(np.asarray(x)))
        return self.class_log_likelihoods(x)[np.arange(len(labels)), labels]

    def background_log_prob(self, x: Any) -> np.ndarray:
        """(N,) log p_θ₀(x) under the background model."""
        return self._density_log_prob(self.num_classes, self.examples(x).data)

    def likelihood_ratio(self, x: Any) -> np.ndarray:
        """(N,) LLR(x) = log p(x) − log p_θ₀(x) (Ren et al., 2019); high = in distribution."""
        return self.log_prob(x) - self.background_log_prob(x)

    # ----- decisions -----------------------------------------------------------------
    def calibrate(self, x_train: Any, percentile: float = 5.0) -> float:
        """Set the rejection threshold to a percentile of the training log p(x); return it."""
        if not 0.0 <= percentile <= 100.0:
            raise ValueError(f"calibrate: percentile must lie in [0, 100], got {percentile}")
        self.threshold = np.array(np.percentile(self.log_prob(x_train), percentile))
        return float(self.threshold)

    def fit_prior(self, x_train: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
        """The second stage after the last epoch: the rejection threshold at the 5th
        percentile of the training log p(x) (``calibrate``)."""
        return {"rejection_threshold": self.calibrate(x_train, percentile=5.0)}

    def predict(self, x: Any, reject: bool = True) -> np.ndarray:
        """(N,) argmax_y p(y | x); −1 where log p(x) < threshold (if ``reject``)."""
        joint = self.log_joint(x)
        labels = joint.argmax(axis=1)
        if reject:
            labels[np.logaddexp.reduce(joint, axis=1) < self.threshold] = -1
        return labels

    # ----- training ------------------------------------------------------------------
    def perturb(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Replace each dimension with probability μ by a uniform draw (a random bit if binary)."""
        x = np.asarray(x)
        binary = bool(np.all((x == 0) | (x == 1)))
        noise = (rng.integers(0, 2, x.shape) if binary else rng.random(x.shape)).astype(x.dtype)
        return np.where(rng.random(x.shape) < self.perturbation, noise, x)

    def _neural_nll(self, x: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Tensor:
        """Σ_i −log p(x_i | y_i) / N: each class model on its own examples."""
        total: Any = 0.0
        for k in np.unique(labels):
            rows = labels == k
            total = total + self.class_density(int(k)).loss(x[rows], rng) * float(rows.sum())
        return total / float(len(x))

    def loss(self, x: Any, rng: np.random.Generator | None = None, y: Any = None) -> Tensor:
        """Mean −log p(x, y) = −log p(x | y) − log p(y) over the batch, nats."""
        x = self.examples(x).data
        labels = self._check_labels(y, len(x))
        prior = float(self.log_prior()[labels].mean())
        if self.density == "gaussian":
            return Tensor(np.asarray(-self.log_prob(x, labels).mean() - prior))
        return self._neural_nll(x, labels, rng) - prior

    def players(self) -> dict[str, list[Parameter]]:
        if self.density == "gaussian":
            return {}  # closed form: no optimiser
        return {"densities": self.parameters()}

    def train_step(self, x: Any, rng: np.random.Generator, y: Any = None,
                   **conditions: Any) -> dict[str, float]:
        """Count the labels; fit every class density on its examples and the background
        density on perturbed inputs (running sums, or one Adam step)."""
        x = self.examples(x).data
        labels = self._check_labels(y, len(x))
        self.class_counts = self.class_counts + np.bincount(labels, minlength=self.num_classes)
        perturbed = self.perturb(x, rng)
        if self.density == "gaussian":
            for k in np.unique(labels):
                self.class_density(int(k)).count_batch(x[labels == k].reshape(-1, self.num_dims))
            self.class_density(self.num_classes).count_batch(perturbed.reshape(len(x), -1))
            return {"loss": float(self.loss(x, rng, y=labels).data)}
        background = self.class_density(self.num_classes)
        value = self.step_player("densities", lambda: self._neural_nll(x, labels, rng)
                                 + background.loss(perturbed, rng))
        return {"loss_with_background": value}

    def _neural_densities(self) -> list[Model]:
        return [m for m in (self.class_density(k) for k in range(self.num_classes + 1))
                if isinstance(m, Model)]

    def before_step(self, x: Any, rng: np.random.Generator) -> None:
        for model in self._neural_densities():  # each density's own hook (none need x)
            model.before_step(x, rng)

    def after_step(self) -> None:
        for model in self._neural_densities():  # e.g. MADE moves to its next mask
            model.after_step()

    def sample(self, n: int, rng: np.random.Generator, y: Any = None) -> np.ndarray:
        """n examples: y ~ p(y) unless given (n,), then x ~ p(x | y)."""
        check_rng(rng, "GenerativeClassifier.sample")
        labels = (rng.choice(self.num_classes, size=n, p=np.exp(self.log_prior())) if y is None
                  else self._check_labels(y, n))
        out = np.zeros((n, *self.data_shape), dtype=np.float32)
        for k in np.unique(labels):
            rows = labels == k
            model = self.class_density(int(k))
            if isinstance(model, GaussianDensity):
                drawn = model.sample_flat(int(rows.sum()), rng).reshape(-1, *self.data_shape)
            else:
                drawn = model.sample(int(rows.sum()), rng)
            out[rows] = drawn
        return out

    # ----- checks --------------------------------------------------------------------
    def _check_labels(self, y: Any, n: int) -> np.ndarray:
        return check_labels("GenerativeClassifier", y, n, self.num_classes)
