"""The training loop: resume equality, the NaN guard, dispatch on the model protocol.

The models here are small dummies that follow the protocol in minigen.models.base, so
these tests never depend on which real models exist; ``register_dummies`` adds them to the
registry for one test. test_checkpoint, test_evaluate, test_plot and test_cli import them.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import pytest

import autograd as ag
from minigen.checkpoint import CheckpointError, RunLock, checkpoint_dir, load_checkpoint
from minigen.models.base import (
    Completes,
    CountsFreeParameters,
    Encoder,
    ExplicitDensity,
    LatentVariable,
    Model,
    PlayerSettings,
    ReportsMetrics,
    SecondStage,
    TrainsItself,
)
from minigen.models.registry import REGISTRY, ModelSpec
from minigen.nn import Parameter
from minigen.train import RunExistsError, RunResult, TrainingDivergedError, train

DATA = "bars-and-stripes-3"  # 2,000 train / 500 test images (1, 3, 3): 4 steps of 500


class PixelCoins(ExplicitDensity):
    """Independent Bernoulli pixels, p(x) = Π_i σ(l_i)^x_i (1 − σ(l_i))^(1−x_i).

    The training loss jitters the logits with N(0, noise²) noise from ``rng``, so that a
    run's numbers depend on the generator state (what resume must restore).
    """

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 noise: float = 0.1) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.noise = noise
        self.logits = Parameter(rng.normal(0.0, 0.5, math.prod(data_shape)).astype(np.float32))

    def _flat(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float32).reshape(len(x), -1)

    def loss(self, x: Any, rng: np.random.Generator) -> ag.Tensor:
        logits = self.logits + rng.normal(0.0, self.noise, self.logits.shape).astype(np.float32)
        # −log p(x) = Σ_i softplus(l_i) − x_i l_i
        return (ag.softplus(logits) - self._flat(x) * logits).sum(axis=1).mean()

    def log_prob(self, x: Any) -> np.ndarray:
        logits = self.logits.data.astype(np.float64)
        return -(np.logaddexp(0.0, logits) - self._flat(x) * logits).sum(axis=1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        probs = 1.0 / (1.0 + np.exp(-self.logits.data))
        return (rng.random((n, probs.size)) < probs).astype(np.float32).reshape(n,
                                                                                *self.data_shape)


LOSSES_SEEN: list[float] = []


class DivergingPixelCoins(PixelCoins):
    """PixelCoins whose training loss becomes NaN at training step ``diverge_at`` (1-based)."""

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 diverge_at: int = 6) -> None:
        super().__init__(data_shape, rng=rng)
        self.diverge_at = diverge_at
        self.calls = 0

    def loss(self, x: Any, rng: np.random.Generator) -> ag.Tensor:
        loss = super().loss(x, rng)
        if not self.training:
            return loss
        self.calls += 1
        if self.calls == self.diverge_at:
            return loss * float("nan")
        LOSSES_SEEN.append(float(loss.data))
        return loss


class LatentCoins(PixelCoins, LatentVariable, Completes, ReportsMetrics,
                  CountsFreeParameters):
    """PixelCoins with the optional capabilities of the protocol (values are simple)."""

    def elbo(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        return self.log_prob(x) - 1.0

    def iwae(self, x: Any, k: int, rng: np.random.Generator) -> np.ndarray:
        return self.log_prob(x) - 1.0 / k

    def reconstruct(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        probs = 1.0 / (1.0 + np.exp(-self.logits.data))
        return np.broadcast_to(probs.reshape(self.data_shape), np.shape(x)).copy()

    def encode(self, x: Any) -> np.ndarray:
        return self._flat(x)[:, :2]

    def complete(self, x_top: Any, rng: np.random.Generator) -> np.ndarray:
        samples = self.sample(len(x_top), rng)
        half = self.data_shape[1] // 2
        samples[:, :, :half] = np.asarray(x_top)[:, :, :half]
        return samples

    def metrics(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        return {"mean_pixel": float(np.mean(x))}

    def num_free_parameters(self) -> int:
        return math.prod(self.data_shape)


class CodeOnly(PixelCoins, Encoder):
    """An autoencoder-like model: it encodes and reconstructs but has nothing to sample."""

    generative = False
    reconstruct = LatentCoins.reconstruct
    encode = LatentCoins.encode

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError("CodeOnly has no distribution to sample from")


class ConditionalCoins(Model):
    """One row of Bernoulli logits per class: p(x | y) = Π_i σ(l_{y,i})^x_i (1 − σ)^(1−x_i)."""

    conditions = ("y",)

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 num_classes: int) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.num_classes = num_classes
        self.logits = Parameter(np.zeros((num_classes, math.prod(data_shape)), np.float32))

    def loss(self, x: Any, rng: np.random.Generator, y: np.ndarray) -> ag.Tensor:
        logits = self.logits[np.asarray(y)]
        flat = np.asarray(x, np.float32).reshape(len(x), -1)
        return (ag.softplus(logits) - flat * logits).sum(axis=1).mean()

    def sample(self, n: int, rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
        probs = 1.0 / (1.0 + np.exp(-self.logits.data[np.asarray(y)]))
        return (rng.random(probs.shape) < probs).astype(np.float32).reshape(n, *self.data_shape)


class TwoPlayerToy(TrainsItself):
    """A two-player game on 2-D points trained by ``train_step`` with two Adams.

    The generator is a shifted Gaussian x = μ + ε; the discriminator D(x) = σ(w·x + b).
    """

    test_loss = False  # a game has no single loss to report on test data

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.mean = Parameter(rng.normal(0.0, 1.0, data_shape).astype(np.float32))
        self.weight = Parameter(rng.normal(0.0, 0.1, data_shape).astype(np.float32))
        self.bias = Parameter(np.zeros((), np.float32))

    def players(self) -> dict[str, list[Parameter]]:
        return {"generator": [self.mean], "discriminator": [self.weight, self.bias]}

    def loss(self, x: Any, rng: np.random.Generator) -> ag.Tensor:
        return ag.softplus(-self._logit(np.asarray(x, np.float32))).mean()

    def _logit(self, points: Any) -> ag.Tensor:
        return (points * self.weight).sum(axis=1) + self.bias

    def _fake(self, n: int, rng: np.random.Generator) -> ag.Tensor:
        return self.mean + rng.normal(0.0, 1.0, (n, *self.data_shape)).astype(np.float32)

    def train_step(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        x = np.asarray(x, np.float32)
        fake = self._fake(len(x), rng).data
        d_loss = self.step_player("discriminator", lambda: ag.softplus(-self._logit(x)).mean()
                                  + ag.softplus(self._logit(fake)).mean())
        g_loss = self.step_player(
            "generator", lambda: ag.softplus(-self._logit(self._fake(len(x), rng))).mean())
        return {"d_loss": d_loss, "g_loss": g_loss}

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._fake(n, rng).data


class TwoStageCoins(PixelCoins, SecondStage, ReportsMetrics):
    """PixelCoins with a second stage: ``fit_prior`` counts its calls and the steps before it."""

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator) -> None:
        super().__init__(data_shape, rng=rng)
        self.register_buffer("steps_seen", np.array(0))
        self.register_buffer("fits", np.array(0))

    def loss(self, x: Any, rng: np.random.Generator) -> ag.Tensor:
        if self.training:  # evaluation calls loss too, in eval mode
            self.steps_seen = self.steps_seen + 1
        return super().loss(x, rng)

    def fit_prior(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        self.fits = self.fits + 1
        return {"prior_nll": 1.5, "steps_before_fit": float(self.steps_seen)}

    def metrics(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        return {"fits_before_evaluation": float(self.fits)}


def dummy_spec(name: str, target: str, data: str = DATA, **fields: Any) -> ModelSpec:
    fields = {"epochs": 2, "batch_size": 500, "lr": 0.1, **fields}
    return ModelSpec(name, "test", f"tests.test_train:{target}", f"dummy {target}", data,
                     **fields)


DUMMY_SPECS = [
    dummy_spec("test-coins", "PixelCoins"),
    dummy_spec("test-diverging", "DivergingPixelCoins"),
    dummy_spec("test-latent", "LatentCoins"),
    dummy_spec("test-code-only", "CodeOnly"),
    dummy_spec("test-conditional", "ConditionalCoins", data="digits-binary", batch_size=600),
    dummy_spec("test-two-player", "TwoPlayerToy", data="ring", batch_size=1000, lr=0.01,
               players={"generator": PlayerSettings(), "discriminator": PlayerSettings()}),
    dummy_spec("test-two-stage", "TwoStageCoins", epochs=3),
]


def register_dummies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Add the dummy models to the registry for the duration of one test."""
    for spec in DUMMY_SPECS:
        monkeypatch.setitem(REGISTRY, spec.name, spec)


@pytest.fixture(autouse=True)
def _dummies(monkeypatch: pytest.MonkeyPatch) -> None:
    register_dummies(monkeypatch)


def _parameters(result: RunResult) -> dict[str, np.ndarray]:
    return result.model.state_dict()


# ----- resume -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["test-coins", "test-two-player"])
def test_resumed_run_matches_an_uninterrupted_run_exactly(name: str, tmp_path: Any) -> None:
    straight = train(name, epochs=4, seed=3, out_dir=tmp_path / "straight", progress=False)
    train(name, epochs=2, seed=3, out_dir=tmp_path / "split", progress=False)
    resumed = train(name, epochs=4, out_dir=tmp_path / "split", resume=True, progress=False)

    for key, value in _parameters(straight).items():
        np.testing.assert_array_equal(_parameters(resumed)[key], value)
    assert resumed.history["train"] == straight.history["train"]
    assert [e["epoch"] for e in resumed.history["test"]] == [1, 2, 3, 4]
    assert resumed.history["test"] == straight.history["test"]
    straight_opt = load_checkpoint(tmp_path / "straight")[2]
    resumed_opt = load_checkpoint(tmp_path / "split")[2]
    for optimizer, state in straight_opt.items():
        for key, value in state.items():
            np.testing.assert_array_equal(resumed_opt[optimizer][key], value)


def test_resume_refuses_a_directory_without_a_checkpoint_instead_of_restarting(
        tmp_path: Any) -> None:
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train("test-coins", epochs=1, out_dir=tmp_path / "b", resume=True, progress=False)
    # a checkpoint with a file missing is refused too, and nothing is overwritten
    train("test-coins", epochs=1, out_dir=tmp_path / "c", progress=False)
    current = checkpoint_dir(tmp_path / "c")
    (current / "trainer_state.json").unlink()
    model_bytes = (current / "model.npz").read_bytes()
    with pytest.raises(CheckpointError, match="missing trainer_state.json"):
        train("test-coins", epochs=2, out_dir=tmp_path / "c", resume=True, progress=False)
    assert (current / "model.npz").read_bytes() == model_bytes


def test_a_run_directory_is_never_overwritten_without_force(tmp_path: Any) -> None:
    first = train("test-coins", epochs=1, seed=1, out_dir=tmp_path, progress=False)
    (tmp_path / "samples.png").write_bytes(b"the old run's figure")
    (tmp_path / "notes.txt").write_text("the user's own file")
    before = {p.name: p.read_bytes() for p in checkpoint_dir(tmp_path).iterdir()}
    with pytest.raises(RunExistsError, match=r"holds a test-coins run \(epoch 1 of 1\); "
                       "pass --resume to continue it or --force to replace it"):
        train("test-latent", epochs=1, out_dir=tmp_path, progress=False)
    assert {p.name: p.read_bytes() for p in checkpoint_dir(tmp_path).iterdir()} == before

    second = train("test-coins", epochs=1, seed=2, out_dir=tmp_path, force=True,
                   progress=False)
    assert not (tmp_path / "samples.png").exists()  # no figure of the old run stays behind
    assert (tmp_path / "notes.txt").read_text() == "the user's own file"
    saved = load_checkpoint(tmp_path)[0]["logits"]
    np.testing.assert_array_equal(saved, _parameters(second)["logits"])
    assert not np.array_equal(saved, _parameters(first)["logits"])


def test_resuming_a_finished_run_changes_nothing(tmp_path: Any) -> None:
    train("test-coins", epochs=2, out_dir=tmp_path, progress=False)
    snapshot = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*")
                if p.is_file()}
    again = train("test-coins", out_dir=tmp_path, resume=True, progress=False)
    assert again.already_complete
    assert {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*")
            if p.is_file()} == snapshot


def test_a_second_process_cannot_train_into_a_locked_run(tmp_path: Any) -> None:
    with RunLock(tmp_path), pytest.raises(CheckpointError, match=r"another minigen process "
                                          rf"\(pid {os.getpid()}\) is training into"):
        train("test-coins", epochs=1, out_dir=tmp_path, progress=False)
    train("test-coins", epochs=1, out_dir=tmp_path, progress=False)  # released: trains


@pytest.mark.parametrize("out", ["", "file"])
def test_a_bad_out_is_refused_before_training(tmp_path: Any, out: str) -> None:
    target = tmp_path / out if out else ""
    if out:
        target.write_text("not a directory")
    with pytest.raises(ValueError, match="is a file|is empty"):
        train("test-coins", epochs=1, out_dir=target, progress=False)


def test_stale_leftovers_of_a_killed_save_are_removed_on_the_next_start(tmp_path: Any) -> None:
    train("test-coins", epochs=1, out_dir=tmp_path, progress=False)
    (tmp_path / ".checkpoint-abc123").mkdir()  # a save killed while writing its files
    (tmp_path / ".checkpoint-abc123" / "model.npz").write_bytes(b"half")
    (tmp_path / "checkpoint-000002").mkdir()  # killed after the rename, before the switch
    (tmp_path / ".metrics.json.x1.tmp").write_bytes(b"{")
    train("test-coins", epochs=2, out_dir=tmp_path, resume=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".lock", "checkpoint-000002", "checkpoint.json", "history.json", "metrics.json"]


def test_resume_refuses_settings_that_contradict_the_saved_run(tmp_path: Any) -> None:
    train("test-coins", epochs=1, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="batch_size=100"):
        train("test-coins", epochs=2, batch_size=100, out_dir=tmp_path, resume=True,
              progress=False)
    with pytest.raises(CheckpointError, match="test-coins"):
        train("test-latent", epochs=2, out_dir=tmp_path, resume=True, progress=False)


def test_resume_needs_a_run_directory() -> None:
    with pytest.raises(ValueError, match="out_dir"):
        train("test-coins", resume=True, progress=False)


# ----- NaN guard ----------------------------------------------------------------------
def test_nan_loss_stops_with_its_step_and_the_last_finite_loss(tmp_path: Any) -> None:
    LOSSES_SEEN.clear()
    with pytest.raises(TrainingDivergedError) as caught:
        train("test-diverging", epochs=3, out_dir=tmp_path, progress=False,
              overrides={"diverge_at": 6})
    message = str(caught.value)
    assert "at step 6" in message
    assert len(LOSSES_SEEN) == 5
    assert f"{LOSSES_SEEN[-1]:.6g}" in message
    assert isinstance(caught.value, ValueError)
    # the checkpoint of the last complete epoch (1, steps 1-4) stays on disk, finite
    state_dict, _, _, trainer_state = load_checkpoint(tmp_path)
    assert trainer_state["epoch"] == 1
    assert len(trainer_state["history"]["train"]["loss"]) == 4
    assert np.isfinite(state_dict["logits"]).all()


def test_nan_at_the_first_step_says_there_was_no_finite_loss() -> None:
    with pytest.raises(TrainingDivergedError, match="at step 1; no finite loss"):
        train("test-diverging", epochs=1, progress=False, overrides={"diverge_at": 1})


# ----- what a run produces ------------------------------------------------------------
def test_training_lowers_the_test_nll_below_the_initial_model(tmp_path: Any) -> None:
    from minigen.data import get_dataset
    x_test, _ = get_dataset(DATA, "test")
    initial = PixelCoins((1, 3, 3), rng=np.random.default_rng(0))
    initial_nll = -initial.log_prob(x_test).mean()
    result = train("test-coins", epochs=3, progress=False)
    assert result.metrics["nll"] < initial_nll - 0.1


def test_same_seed_gives_the_same_run_and_another_seed_a_different_one() -> None:
    first = train("test-coins", epochs=1, seed=5, progress=False)
    again = train("test-coins", epochs=1, seed=5, progress=False)
    other = train("test-coins", epochs=1, seed=6, progress=False)
    assert first.history == again.history
    assert first.history["train"] != other.history["train"]


def test_history_has_one_loss_per_step_and_one_test_entry_per_epoch() -> None:
    result = train("test-coins", epochs=3, batch_size=300, progress=False)
    steps_per_epoch = math.ceil(2000 / 300)
    assert len(result.history["train"]["loss"]) == 3 * steps_per_epoch
    assert [e["step"] for e in result.history["test"]] == [steps_per_epoch * k for k in (1, 2, 3)]
    assert result.metrics == {k: v for k, v in result.history["test"][-1].items()
                              if k not in ("epoch", "step")}


def test_run_directory_holds_checkpoint_metrics_and_history(tmp_path: Any) -> None:
    result = train("test-coins", epochs=2, out_dir=tmp_path, progress=False)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"checkpoint-000002", "checkpoint.json", ".lock", "metrics.json",
                     "history.json"}
    assert {p.name for p in (tmp_path / "checkpoint-000002").iterdir()} == {
        "model.npz", "optimizer.npz", "config.json", "trainer_state.json"}
    assert json.loads((tmp_path / "metrics.json").read_text()) == result.metrics
    assert json.loads((tmp_path / "history.json").read_text()) == result.history
    config = json.loads((checkpoint_dir(tmp_path) / "config.json").read_text())
    assert config["model"] == "test-coins" and config["data_shape"] == [1, 3, 3]


def test_the_iwae_bound_is_computed_after_the_last_epoch_only() -> None:
    result = train("test-latent", epochs=3, progress=False)
    assert ["iwae_50" in entry for entry in result.history["test"]] == [False, False, True]
    assert all("elbo" in entry for entry in result.history["test"])
    assert "iwae_50" in result.metrics


def test_second_stage_is_fitted_once_after_the_last_epoch_and_before_its_evaluation() -> None:
    result = train("test-two-stage", seed=0, progress=False)
    model, history = result.model, result.history
    assert int(model.fits) == 1
    last = history["test"][-1]
    assert last["train_steps_before_fit"] == last["step"] == int(model.steps_seen)
    assert [entry["fits_before_evaluation"] for entry in history["test"]] == [0.0, 0.0, 1.0]
    assert result.metrics["train_prior_nll"] == 1.5 and "prior_nll" not in result.metrics
    assert not any("train_prior_nll" in entry for entry in history["test"][:-1])


def test_two_player_model_is_trained_by_its_own_step_and_optimizers(tmp_path: Any) -> None:
    result = train("test-two-player", epochs=1, out_dir=tmp_path, progress=False)
    assert set(result.history["train"]) == {"d_loss", "g_loss"}
    assert len(result.history["train"]["g_loss"]) == 4
    assert "loss" not in result.metrics
    assert set(load_checkpoint(tmp_path)[2]) == {"generator", "discriminator"}


def test_conditional_model_gets_labels_and_the_number_of_classes() -> None:
    result = train("test-conditional", epochs=1, progress=False)
    assert result.model.num_classes == 10
    assert result.config["hparams"]["num_classes"] == 10
    assert np.isfinite(result.metrics["loss"])


def test_arguments_override_the_spec_defaults() -> None:
    result = train("test-coins", data="bars-and-stripes-4", epochs=1, batch_size=1000,
                   lr=0.5, progress=False, overrides={"noise": 0.0})
    assert result.config["data_shape"] == [1, 4, 4]
    assert (result.config["batch_size"], result.config["lr"]) == (1000, 0.5)
    assert result.config["hparams"] == {"noise": 0.0}
    assert len(result.history["train"]["loss"]) == 2


@pytest.mark.parametrize("argument", [{"epochs": 0}, {"batch_size": -1}, {"lr": 0.0},
                                      {"data": "no-such-data"}])
def test_invalid_settings_are_refused_with_their_name(argument: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(argument))):
        train("test-coins", progress=False, **argument)
