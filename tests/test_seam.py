"""The training seam: --lr reaches every player of every model, counting refuses it, and a
new model written from ``minigen/models/base.py`` alone runs through train, eval and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autograd as ag
from minigen.cli import main
from minigen.models.base import ExplicitDensity, Model, PlayerSettings, ShowsRows, TrainsItself
from minigen.models.registry import REGISTRY, ModelSpec, get_spec
from minigen.nn import Linear
from minigen.train import build_optimizers, train


def _weights_after_one_epoch(name: str, lr: float | None) -> dict[str, np.ndarray]:
    spec = get_spec(name)
    result = train(spec, epochs=1, lr=lr, seed=0, progress=False,
                   overrides={"pretrain_steps": 10} if name == "stacked_autoencoder" else None)
    return result.model.state_dict()


@pytest.mark.parametrize("name", ["aae", "rbm", "stacked_autoencoder"])
def test_lr_changes_the_weights_of_models_that_train_themselves(name: str) -> None:
    default = _weights_after_one_epoch(name, None)
    halved = _weights_after_one_epoch(name, get_spec(name).lr / 2)
    again = _weights_after_one_epoch(name, None)
    changed = [key for key in default if not np.array_equal(default[key], halved[key])]
    assert changed, f"--lr did not reach {name}'s optimisers"
    assert all(np.array_equal(default[key], again[key]) for key in default)  # same seed, same run


@pytest.mark.parametrize("name", ["aae", "rbm", "stacked_autoencoder"])
def test_every_player_is_built_at_the_runs_lr_times_its_scale(name: str) -> None:
    spec = get_spec(name)
    model = spec.model_class()((1, 8, 8), rng=np.random.default_rng(0), **spec.hparams)
    optimizers = build_optimizers(model, spec, 0.123)
    assert set(optimizers) == set(model.players())
    for player, optimizer in optimizers.items():
        scale = spec.players.get(player, PlayerSettings()).lr_scale
        assert optimizer.lr == pytest.approx(0.123 * scale)


@pytest.mark.parametrize("name", ["joint-table", "independent-bernoulli", "ppca"])
def test_models_without_a_learning_rate_refuse_lr_in_one_line(
        name: str, capsys: pytest.CaptureFixture, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["train", name, "--lr", "0.01", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "learning rate" in err and name in err
    assert not (tmp_path / "runs" / name).exists()


def test_players_that_are_not_declared_are_refused() -> None:
    spec = get_spec("aae")
    model = spec.model_class()((1, 8, 8), rng=np.random.default_rng(0), **spec.hparams)
    with pytest.raises(ValueError, match="unknown players"):
        model.build_optimizers(1e-3, {"critic": PlayerSettings()})
    fresh = spec.model_class()((1, 8, 8), rng=np.random.default_rng(0), **spec.hparams)
    with pytest.raises(RuntimeError, match="build_optimizers"):
        fresh.train_step(np.zeros((2, 1, 8, 8), np.float32), np.random.default_rng(0))


# ----- a newcomer's model, written from minigen/models/base.py alone -------------------
class LogisticPixels(ExplicitDensity):
    """Independent pixels p(x_i = 1) = σ(b_i): the smallest explicit density."""

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.head = Linear(1, int(np.prod(data_shape)), rng=rng)

    def _logits(self, n: int) -> ag.Tensor:
        return self.head(np.ones((n, 1), np.float32))

    def log_prob(self, x: Any) -> np.ndarray:
        flat = np.asarray(x, np.float32).reshape(len(x), -1)
        logits = self._logits(len(flat)).data  # log p(x) = Σ_i x_i l_i − softplus(l_i)
        return (flat * logits - np.logaddexp(0, logits)).sum(axis=1)

    def loss(self, x: Any, rng: np.random.Generator) -> ag.Tensor:
        flat = np.asarray(x, np.float32).reshape(len(x), -1)
        logits = self._logits(len(flat))
        return (ag.softplus(logits) - logits * flat).sum(axis=1).mean()

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        probabilities = 1 / (1 + np.exp(-self._logits(n).data))
        return (rng.random(probabilities.shape) < probabilities).astype(np.float32).reshape(
            n, *self.data_shape)


def test_a_thirty_line_model_trains_evaluates_and_plots_from_the_cli(
        capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(REGISTRY, "logistic-pixels", ModelSpec(
        "logistic-pixels", "test", "tests.test_seam:LogisticPixels", "newcomer's model",
        "digits-binary", epochs=3, batch_size=256, lr=0.05))
    assert main(["train", "logistic-pixels", "--no-progress"]) == 0
    run = tmp_path / "runs" / "logistic-pixels"
    metrics = json.loads((run / "metrics.json").read_text())
    assert 20 < metrics["nll"] < 44.4  # better than fair coins (64 ln 2), worse than NADE
    assert metrics["loss"] == pytest.approx(metrics["nll"], rel=1e-4)
    assert {"samples.png", "loss.png"} <= {p.name for p in run.iterdir()}
    assert main(["eval", str(run)]) == 0
    assert "nll" in capsys.readouterr().out
    assert main(["sample", str(run), "-n", "16"]) == 0


class PixelMap(Model, ShowsRows):
    """A newcomer's image-to-image model: each target pixel an affine map of the source's."""

    conditions = ("source",)
    loss_unit = "squared error per image"

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.map = Linear(int(np.prod(data_shape)), int(np.prod(data_shape)), rng=rng)

    def _translate(self, source: Any) -> ag.Tensor:
        return self.map(self.examples(source, flat=True))

    def loss(self, x: Any, rng: np.random.Generator, source: Any = None) -> ag.Tensor:
        return ((self._translate(source) - self.examples(x, flat=True)) ** 2).sum(axis=1).mean()

    def sample(self, n: int, rng: np.random.Generator, source: Any = None) -> np.ndarray:
        return self._translate(np.asarray(source)[:n]).data.reshape(n, *self.data_shape)

    def sampling_conditions(self, n, fields, rng):
        return {"source": np.resize(fields["source"], (n, *self.data_shape))}, None

    def figure_rows(self, fields, rng):
        source = fields["source"][:8]
        return "pixelated -> digit", {"input": source, "output": self.sample(8, rng, source),
                                      "target": fields["x"][:8]}


def test_a_model_conditioned_on_a_source_image_trains_samples_and_draws_its_rows(
        capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the trainer carries the data set's extra fields (get_fields) to the model's conditions,
    # and the judge, samples.png and `minigen sample` take them from sampling_conditions
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(REGISTRY, "pixel-map", ModelSpec(
        "pixel-map", "test", "tests.test_seam:PixelMap", "newcomer's translation",
        "digits-pix2pix", epochs=2, batch_size=128, lr=0.01))
    assert main(["train", "pixel-map", "--no-progress"]) == 0
    run = tmp_path / "runs" / "pixel-map"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["loss"] < 64 * 0.5  # far better than a constant: the source reached it
    assert np.isfinite(metrics["fd"])  # judged on translations of the test sources
    assert {"samples.png", "translations.png"} <= {p.name for p in run.iterdir()}
    assert main(["sample", str(run), "-n", "16"]) == 0
    assert "16 samples of pixel-map" in capsys.readouterr().out


def test_a_self_training_model_declares_players_and_steps_each_alone() -> None:
    class TwoHeads(TrainsItself):
        def __init__(self) -> None:
            super().__init__()
            self.left = Linear(2, 1, rng=np.random.default_rng(0))
            self.right = Linear(2, 1, rng=np.random.default_rng(1))

        def players(self) -> dict[str, list]:
            return {"left": self.left.parameters(), "right": self.right.parameters()}

        def loss(self, x: Any, rng: np.random.Generator) -> ag.Tensor:
            return (self.left(x) * self.right(x)).mean()  # both players reach the loss

        def train_step(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
            return {"left": self.step_player("left", lambda: self.loss(x, rng))}

        def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
            return np.zeros((n, 2))

    model = TwoHeads()
    model.build_optimizers(0.1)
    right_before = model.right.weight.data.copy()
    left_before = model.left.weight.data.copy()
    model.train_step(np.ones((4, 2), np.float32), np.random.default_rng(0))
    assert not np.array_equal(model.left.weight.data, left_before)
    np.testing.assert_array_equal(model.right.weight.data, right_before)  # bit-identical
    assert all(p.grad is None for p in model.parameters())


# Each optional method is reached only through the capability that declares it, so a model
# that defines the method without declaring the capability would silently lose a figure.
CAPABILITY_OF_METHOD = {
    "log_prob": "ExplicitDensity", "logits": "Autoregressive", "complete": "Completes",
    "elbo": "LatentVariable", "iwae": "LatentVariable", "encode": "Encoder",
    "reconstruct": "Reconstructs", "train_step": "TrainsItself", "fit_prior": "SecondStage",
    "metrics": "ReportsMetrics", "num_free_parameters": "CountsFreeParameters",
    "chain": "ChainSampler", "denoise": "Denoiser", "codes": "DiscreteCodes",
    "sample_prior": "PriorSampler",
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_optional_method_a_model_defines_is_declared(name: str) -> None:
    import minigen.models.base as base

    model_class = get_spec(name).model_class()
    undeclared = [method for method, capability in CAPABILITY_OF_METHOD.items()
                  if callable(getattr(model_class, method, None))
                  and not issubclass(model_class, getattr(base, capability))]
    assert not undeclared, f"{name} defines {undeclared} without declaring the capability"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_constructor_defaults_agree_with_the_registry(name: str) -> None:
    import inspect

    spec = get_spec(name)
    signature = inspect.signature(spec.model_class().__init__)
    disagree = {}
    for key, value in spec.hparams.items():
        parameter = signature.parameters.get(key)
        if parameter is None or parameter.default is inspect.Parameter.empty:
            continue
        default = parameter.default
        same = (list(default) == list(value) if isinstance(default, (tuple, list))
                and isinstance(value, (tuple, list)) else default == value)
        if not same:
            disagree[key] = (default, value)
    assert not disagree, f"{name}: constructor default vs registry {disagree}"
