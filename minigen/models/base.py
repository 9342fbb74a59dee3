"""What a minigen model is: one base class, and the capabilities a model declares.

Open this file to write a new model. The trainer (``minigen.train``), the evaluator
(``minigen.evaluate``), the plots (``minigen.plot``) and the CLI read only what is declared
here: a model *is* an :class:`ExplicitDensity` or a :class:`LatentVariable` by inheriting
from it, and nothing probes for methods by name.

The batch
---------
A batch is a ``dict[str, np.ndarray]`` of aligned arrays, each with the N examples on its
first axis (:data:`Batch`). ``"x"`` is always there: the data the model generates (images
NCHW as floats, 2-D points (N, 2), integer tokens (N, T)). Other fields carry what a model
may condition on; the data set decides which fields exist, the model which it uses:

========== =================================================================
field      meaning
========== =================================================================
``y``      class labels, int (N,) (conditional VAE, conditional GAN, guidance)
``source`` the paired input image of an image-to-image model; ``x`` is its target
``x_b``    a second, unpaired domain drawn beside ``x`` (CycleGAN); ``y_b`` its labels
``domain`` the attribute domain ``x`` is shown in, int (N,) (StarGAN)
``text``   caption tokens, int (N, T)
========== =================================================================

A model lists the fields besides ``x`` that it takes in :attr:`Model.conditions`; the
trainer passes exactly those as keyword arguments: ``loss(x, rng, y=labels)``. Whether a
model is conditional is that one tuple.

Training: two ways
------------------
* By gradient (the default): ``loss(x, rng, **conditions)`` returns a scalar Tensor, the
  mean over the batch in nats (or the model's stated unit); the trainer runs one Adam over
  ``parameters()`` at the run's ``--lr``.
* By its own algorithm (:class:`TrainsItself`): two or three players (GANs, the AAE),
  contrastive divergence, greedy stages, counting. The model names its players and their
  parameters in :meth:`TrainsItself.players`; the trainer builds one optimiser per player
  from the run's ``--lr`` and the registry's :class:`PlayerSettings`, hands them over with
  :meth:`TrainsItself.set_optimizers`, and calls ``train_step(x, rng, **conditions)``,
  which reads as its algorithm with :meth:`TrainsItself.step_player`.

Around every training step the trainer calls two hooks, no-ops unless a model needs them:
:meth:`Model.before_step` (the VQ-VAE starts its codebook on the first batch's encoder
outputs) and :meth:`Model.after_step` (MADE moves to its next mask; a weight EMA updates).
``loss`` itself has no side effects.

Every method that draws takes an explicit ``np.random.Generator`` called ``rng``.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from autograd import Tensor
from minigen.checks import check_count
from minigen.nn import Module, Parameter
from minigen.optim import SGD, Adam, Optimizer

Batch = dict[str, np.ndarray]
"""Aligned arrays by field name; ``"x"`` always present (see the module docstring)."""

class Model(Module, ABC):
    """Every minigen model: a :class:`~minigen.nn.Module` that trains and samples.

    Class attributes a model sets when the default is wrong for it:

    conditions : the batch fields besides ``x`` that ``loss``, ``sample`` and the other
        methods take as keywords, e.g. ``("y",)``; empty for an unconditional model
    generative : False for a model that learns codes or reconstructions but cannot draw new
        data (plain autoencoders); the evaluator then skips sample quality
    uses_learning_rate : False for a model fitted without one (counting, closed-form
        fits); the trainer refuses ``--lr`` for it
    loss_unit : what ``loss`` is measured in, for plots and tables
    test_loss : False when ``loss`` is no figure to report on test data (a stochastic
        surrogate such as contrastive divergence's); the evaluator then skips it
    binary_data : True for a model of binary data: :meth:`examples` refuses anything but
        0 and 1 (a grey level has no probability under a Bernoulli model)
    value_range : (low, high) the data must lie in, checked by :meth:`examples`; None for
        any finite value. A model may set it per instance (a tanh generator: (−1, 1))
    sample_options : keyword arguments ``sample`` takes beyond ``n`` and ``rng`` (a
        diffusion model's "sampler", "steps", "eta", "guidance"; a language model's
        "temperature"); ``minigen sample`` offers exactly these as flags
    samples_are : what ``sample`` returns, for figure titles: "samples", or e.g. "decoder
        means" for a VAE, whose pictures are E[x | z] and not draws of x

    Every method that takes data passes it through :meth:`examples` first, so bad input is
    refused at the door with the shape or range that was expected.
    """

    conditions: ClassVar[tuple[str, ...]] = ()
    generative: ClassVar[bool] = True
    uses_learning_rate: ClassVar[bool] = True
    loss_unit: ClassVar[str] = "nats per example"
    test_loss: ClassVar[bool] = True
    binary_data: ClassVar[bool] = False
    value_range: tuple[float, float] | None = None
    sample_options: ClassVar[tuple[str, ...]] = ()
    samples_are: ClassVar[str] = "samples"
    data_shape: tuple[int, ...]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every model's ``sample`` checks ``n`` first: a positive int (the one check of it,
        added here so no model can forget it)."""
        super().__init_subclass__(**kwargs)
        sample = getattr(cls, "sample", None)  # its own, a mixin's or a parent's
        if sample is None or getattr(sample, "__isabstractmethod__", False) or getattr(
                sample, "checks_n", False):
            return

        @functools.wraps(sample)
        def checked_sample(self: Model, n: int, *args: Any, **kwargs: Any) -> np.ndarray:
            return sample(self, check_count(f"{type(self).__name__}.sample", n), *args,
                          **kwargs)

        checked_sample.checks_n = True  # type: ignore[attr-defined]
        cls.sample = checked_sample  # type: ignore[method-assign]

    @property
    def dtype(self) -> np.dtype:
        """The dtype data is converted to: the parameters' (float64 for a model without)."""
        parameters = self.parameters()
        return parameters[0].dtype if parameters else np.dtype(np.float64)

    def examples(self, x: Any, *, flat: bool = False) -> Tensor:
        """x checked at the door and made a Tensor of the model's dtype.

        x : (N, *data_shape), or (N, D) with ``flat``; returns (N, *data_shape), or (N, D)
        with ``flat`` (D = prod(data_shape), raster order). An array must hold N ≥ 1 finite
        examples, each 0 or 1 for a model of binary data. A Tensor keeps its dtype and its
        graph (Jacobian tests differentiate through it) and is only shape-checked.
        """
        name = type(self).__name__
        shape = tuple(self.data_shape)
        size = int(np.prod(shape))
        if not isinstance(x, Tensor):
            array = np.asarray(x)
            if array.dtype == object or not np.issubdtype(array.dtype, np.number):
                raise TypeError(f"{name}: x must be numbers, got an array of {array.dtype}")
            if array.ndim >= 1 and len(array) == 0:
                raise ValueError(f"{name}: x is empty (shape {array.shape}); need at least "
                                 "one example")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name}: x holds NaN or inf; every value must be finite")
            if self.binary_data and not np.all((array == 0) | (array == 1)):
                raise ValueError(f"{name}: x must be binary (values 0 and 1), as in "
                                 f"'digits-binary'; got values in [{array.min():g}, "
                                 f"{array.max():g}]")
            if self.value_range is not None and array.size:
                low, high = self.value_range
                if array.min() < low or array.max() > high:
                    example = {(0.0, 1.0): " as in 'digits'", (-1.0, 1.0): " as in "
                               "'digits-signed'"}.get((float(low), float(high)), "")
                    raise ValueError(f"{name}: x must lie in [{low:g}, {high:g}]{example}; "
                                     f"got values in [{array.min():g}, {array.max():g}]")
            x = Tensor(array.astype(self.dtype, copy=False))
        accepted = [shape, (size,)] if flat else [shape]
        if x.ndim < 1 or tuple(x.shape[1:]) not in accepted:
            expected = " or ".join(f"(N, {', '.join(map(str, s))})" for s in accepted)
            raise ValueError(f"{name}: x has shape {x.shape}, expected {expected}")
        return x.reshape(x.shape[0], size) if flat else x.reshape(x.shape[0], *shape)

    @abstractmethod
    def loss(self, x: Any, rng: np.random.Generator, **conditions: Any) -> Tensor:
        """Scalar Tensor to minimise: the mean over the batch x : (N, *data_shape)."""

    def sampling_conditions(self, n: int, fields: Batch, rng: np.random.Generator
                            ) -> tuple[Batch, np.ndarray | None]:
        """What to condition ``n`` samples on, for the judge, the figures and the CLI.

        ``fields`` are a held-out split's batch fields (the test split). Returns the keyword
        arguments for ``sample(n, rng, **conditions)`` and the class each sample should show
        (the judge scores its accuracy), or None where no class is asked for. The default
        covers unconditional models and labels: sample i is of class ``i mod num_classes``.
        A model conditioned on anything else (a source image, a caption, a target domain)
        overrides this, e.g. with the first n source images of ``fields``.
        """
        if not self.conditions:
            return {}, None
        if self.conditions == ("y",):
            labels = np.arange(n) % int(self.num_classes)
            return {"y": labels}, labels
        raise NotImplementedError(f"{type(self).__name__} conditions on {self.conditions}: "
                                  "override sampling_conditions to say what samples take")

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """n new examples (n, *data_shape) in data space."""

    def before_step(self, x: Any, rng: np.random.Generator) -> None:
        """Called by the trainer before each training step's loss; default: nothing."""

    def after_step(self) -> None:
        """Called by the trainer after each optimiser step; default: nothing."""

    def is_conditional(self) -> bool:
        return bool(self.conditions)


class ExplicitDensity(Model):
    """A model whose density (or probability) is exact: p(x) is a number we can compute."""

    @abstractmethod
    def log_prob(self, x: Any, **conditions: Any) -> np.ndarray:
        """Exact log p(x) in nats per example. x : (N, *data_shape) -> (N,)."""


class Completes(Model):
    """A model that draws the rest of an example given its first half: ``complete``."""

    @abstractmethod
    def complete(self, x_top: Any, rng: np.random.Generator) -> np.ndarray:
        """Keep the first half of each example (the top rows of an image) and draw the rest."""


class Autoregressive(ExplicitDensity, Completes):
    """p(x) = Π_i p(x_i | x_<i): per-dimension logits, and completion of a given prefix."""

    @abstractmethod
    def logits(self, x: Any) -> Tensor:
        """Per-dimension parameters of p(x_i | x_<i), in the model's ordering."""


class Reconstructs(Model):
    """A model that passes x through a code (or a chain) and back: ``reconstruct``."""

    @abstractmethod
    def reconstruct(self, x: Any, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """x passed through the code and back: (N, *data_shape)."""


class Encoder(Reconstructs):
    """A model with a continuous code: ``encode`` x to it (and ``reconstruct`` through it)."""

    @abstractmethod
    def encode(self, x: Any, **conditions: Any) -> np.ndarray:
        """Codes (N, d) of x (the posterior means of a VAE), for scatter plots."""


class LatentVariable(Encoder):
    """p(x) = ∫ p(x|z) p(z) dz, bounded below by the ELBO and the IWAE bound."""

    @abstractmethod
    def elbo(self, x: Any, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) ≤ log p(x), nats, (N,)."""

    @abstractmethod
    def iwae(self, x: Any, k: int, rng: np.random.Generator, **conditions: Any) -> np.ndarray:
        """IWAE_k(x) = E[log (1/k) Σ_i p(x, z_i)/q(z_i|x)], between ELBO and log p(x), (N,)."""


# ----- models that train themselves ---------------------------------------------------
@dataclass(frozen=True)
class PlayerSettings:
    """How the trainer builds one player's optimiser (the registry holds each model's).

    lr_scale : the player's learning rate is ``lr_scale`` × the run's ``--lr``
    betas : Adam's (β₁, β₂); GANs use β₁ = 0.5
    steps : updates of this player per training step (n_critic for a WGAN critic)
    optimizer : "adam", or "sgd" (with ``momentum``)
    """

    lr_scale: float = 1.0
    betas: tuple[float, float] = (0.9, 0.999)
    steps: int = 1
    optimizer: str = "adam"
    momentum: float = 0.0

    def build(self, parameters: list[Parameter], lr: float) -> Optimizer:
        if self.optimizer == "sgd":
            return SGD(parameters, lr=lr * self.lr_scale, momentum=self.momentum)
        if self.optimizer == "adam":
            return Adam(parameters, lr=lr * self.lr_scale, betas=self.betas)
        raise ValueError(f"PlayerSettings.optimizer must be 'adam' or 'sgd', got "
                         f"{self.optimizer!r}")


class TrainsItself(Model):
    """A model whose training step is its own algorithm over named players.

    Subclasses define :meth:`players` and :meth:`train_step`; the trainer calls
    :meth:`build_optimizers` with the run's learning rate and the registry's settings.
    A model with no players (counting, closed-form fits) needs no optimiser at all.
    """

    _optimizers: dict[str, Optimizer]
    _player_settings: dict[str, PlayerSettings]

    @abstractmethod
    def players(self) -> dict[str, list[Parameter]]:
        """Player name -> the parameters that player's optimiser updates."""

    @abstractmethod
    def train_step(self, x: Any, rng: np.random.Generator, **conditions: Any) -> dict[str, float]:
        """One training iteration on the batch; returns the figures to log."""

    def build_optimizers(
        self, lr: float, settings: dict[str, PlayerSettings] | None = None
    ) -> dict[str, Optimizer]:
        """One optimiser per player at ``lr`` × its ``lr_scale`` (settings default to
        :class:`PlayerSettings`). Returns them; they are also kept for ``train_step``."""
        settings = dict(settings or {})
        players = self.players()
        unknown = sorted(set(settings) - set(players))
        if unknown:
            raise ValueError(f"{type(self).__name__}: settings for unknown players {unknown}; "
                             f"the players are {sorted(players)}")
        resolved = {name: settings.get(name, PlayerSettings()) for name in players}
        object.__setattr__(self, "_player_settings", resolved)
        object.__setattr__(self, "_optimizers", {
            name: resolved[name].build(parameters, lr) for name, parameters in players.items()})
        return self._optimizers

    def optimizers(self) -> dict[str, Optimizer]:
        """The optimisers built by :meth:`build_optimizers` (saved in checkpoints)."""
        if "_optimizers" not in self.__dict__:
            if not self.players():
                return {}
            raise RuntimeError(f"{type(self).__name__}: call build_optimizers(lr) before "
                               "training (minigen.train does it from the run's settings)")
        return self._optimizers

    def player_steps(self, name: str) -> int:
        """How many updates player ``name`` takes per training step (its settings' ``steps``)."""
        self.optimizers()
        return self._player_settings[name].steps

    def step_player(self, name: str, objective: Callable[[], Tensor]) -> float:
        """Zero every gradient, take player ``name``'s objective, step only its optimiser.

        Gradients that reach other players' parameters are dropped (zeroed before the next
        player steps), so a player's update never moves another player.
        """
        optimizer = self.optimizers()[name]
        self.zero_grad()
        value = objective()
        if not np.isfinite(value.data).all():  # before the update: no NaN reaches θ
            raise FloatingPointError(f"{type(self).__name__}: player {name!r}'s objective is "
                                     f"{float(value.data)}; its parameters were not updated")
        value.backward()
        optimizer.step()
        self.zero_grad()
        return float(value.data)


# ----- optional hooks: what else a model can do, for the trainer, evaluator and plots -----
class SecondStage(ABC):
    """A second fit after the last epoch (the VQ-VAE's prior over its codes)."""

    @abstractmethod
    def fit_prior(self, x_train: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
        """Fit the second stage on the training data; return figures on it."""


class ReportsMetrics(ABC):
    """Model-specific test figures (code perplexity, reconstruction error, ...)."""

    @abstractmethod
    def metrics(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        """Figures on x : (N, *data_shape), each a float named for what it is."""


class CountsFreeParameters(ABC):
    """A counting model whose free parameters differ from its stored numbers (2^n − 1)."""

    @abstractmethod
    def num_free_parameters(self) -> int:
        """The number of free parameters of the distribution it represents."""


class ChainSampler(ABC):
    """A model that samples by running a Markov chain (RBM Gibbs, GSN walkback)."""

    @abstractmethod
    def chain(self, x0: Any, steps: int, rng: np.random.Generator) -> np.ndarray:
        """Every state of the chain from x0 : (N, *data_shape): (steps + 1, N, *data_shape)."""


class Denoiser(ABC):
    """A model that learns to undo a corruption: ``corrupt`` then ``denoise``."""

    @abstractmethod
    def corrupt(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        """x with the training corruption applied."""

    @abstractmethod
    def denoise(self, x_noisy: Any) -> np.ndarray:
        """The model's estimate of the clean x."""


class DiscreteCodes(ABC):
    """A model with a codebook: ``codes(x)`` integer maps into ``num_embeddings`` entries."""

    num_embeddings: int

    @abstractmethod
    def codes(self, x: Any) -> np.ndarray:
        """Integer code maps (N, h, w) of x."""


class PriorSampler(ABC):
    """A model whose code prior can be sampled directly (drawn beside the codes in plots)."""

    @abstractmethod
    def sample_prior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws z ~ p(z): (n, d)."""


class DecodesText(ABC):
    """A model of token sequences that spells its samples: ``decode(tokens)`` -> strings."""

    @abstractmethod
    def decode(self, tokens: np.ndarray) -> list[str]:
        """Token rows (N, T) -> the N strings they spell (up to the end token)."""


class ShowsRows(ABC):
    """A model with a figure of labelled image rows, written as ``rows_figure`` in the run.

    Image-to-image models show input | output | target (one row each, the same test
    examples in every column); a text-to-image model shows one row per caption.
    """

    rows_figure: ClassVar[str] = "translations.png"

    @abstractmethod
    def figure_rows(self, fields: Batch, rng: np.random.Generator
                    ) -> tuple[str, dict[str, np.ndarray]]:
        """(title, {row label: images (k, C, H, W)}) drawn from the test ``fields``.

        Every row holds images on the data's scale; rows may differ in k.
        """
