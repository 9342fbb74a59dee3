"""evaluate(): the keys each capability implies, and the numbers behind them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import is_grad_enabled
from minigen.evaluate import evaluate
from tests.test_train import ConditionalCoins, LatentCoins, PixelCoins, TwoPlayerToy

SHAPE = (1, 3, 3)


def _images(n: int, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, *SHAPE)) < 0.3).astype(np.float32)


def _by_hand_log_prob(model: PixelCoins, x: np.ndarray) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-model.logits.data.astype(np.float64)))
    flat = x.reshape(len(x), -1)
    return (flat * np.log(p) + (1 - flat) * np.log(1 - p)).sum(axis=1)


def test_explicit_model_reports_loss_nll_bits_per_dim_and_parameter_count() -> None:
    model = PixelCoins(SHAPE, rng=np.random.default_rng(0))
    metrics = evaluate(model, _images(50))
    assert set(metrics) == {"loss", "nll", "bits_per_dim", "num_parameters"}
    assert metrics["num_parameters"] == 9


def test_latent_model_adds_elbo_iwae_its_metrics_and_free_parameters() -> None:
    model = LatentCoins(SHAPE, rng=np.random.default_rng(0))
    metrics = evaluate(model, _images(50), iwae_k=7)
    assert set(metrics) == {"loss", "nll", "bits_per_dim", "elbo", "iwae_7", "mean_pixel",
                            "num_parameters", "num_free_parameters"}
    nll = -_by_hand_log_prob(model, _images(50)).mean()
    assert metrics["elbo"] == pytest.approx(-nll - 1.0)
    assert metrics["iwae_7"] == pytest.approx(-nll - 1.0 / 7)
    assert metrics["mean_pixel"] == pytest.approx(_images(50).mean())


def test_iwae_k_none_skips_the_iwae_bound() -> None:
    model = LatentCoins(SHAPE, rng=np.random.default_rng(0))
    metrics = evaluate(model, _images(10), iwae_k=None)
    assert "elbo" in metrics and not any(key.startswith("iwae") for key in metrics)


def test_two_player_model_without_loss_reports_only_what_it_has() -> None:
    model = TwoPlayerToy((2,), rng=np.random.default_rng(0))
    metrics = evaluate(model, np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32))
    assert set(metrics) == {"num_parameters"}
    assert metrics["num_parameters"] == 5


def test_nll_and_bits_per_dim_match_the_bernoulli_formula() -> None:
    model = PixelCoins(SHAPE, rng=np.random.default_rng(2))
    x = _images(40)
    metrics = evaluate(model, x)
    nll = -_by_hand_log_prob(model, x).mean()
    assert metrics["nll"] == pytest.approx(nll, rel=1e-6)
    assert metrics["bits_per_dim"] == pytest.approx(nll / (9 * math.log(2)), rel=1e-6)


@given(batch_size=st.integers(1, 60), n=st.integers(1, 45))
def test_means_do_not_depend_on_the_batch_size(batch_size: int, n: int) -> None:
    model = PixelCoins(SHAPE, rng=np.random.default_rng(3), noise=0.0)
    x = _images(n)
    whole = evaluate(model, x, batch_size=1000)
    batched = evaluate(model, x, batch_size=batch_size)
    assert batched["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    assert batched["nll"] == pytest.approx(whole["nll"], rel=1e-9)
    # with noise 0 the loss is the exact NLL (in float32)
    assert whole["loss"] == pytest.approx(whole["nll"], rel=1e-5)


def test_conditional_model_receives_the_labels() -> None:
    model = ConditionalCoins(SHAPE, rng=np.random.default_rng(0), num_classes=3)
    model.logits.data[1] = 5.0  # class 1 says "every pixel on"
    ones = np.ones((4, *SHAPE), np.float32)
    on_class_1 = evaluate(model, ones, y=np.full(4, 1))
    on_class_0 = evaluate(model, ones, y=np.zeros(4, np.int64))
    assert on_class_1["loss"] < on_class_0["loss"]
    assert model.is_conditional()
    assert not PixelCoins(SHAPE, rng=np.random.default_rng(0)).is_conditional()


def test_evaluation_records_no_graph_and_restores_the_training_mode() -> None:
    seen = []

    class Spy(PixelCoins):
        def loss(self, x, rng):  # type: ignore[no-untyped-def]
            seen.append((is_grad_enabled(), self.training))
            return super().loss(x, rng)

    model = Spy(SHAPE, rng=np.random.default_rng(0))
    model.train()
    evaluate(model, _images(10))
    assert seen == [(False, False)]
    assert model.training and is_grad_enabled()


def test_bad_inputs_are_refused_with_their_shapes() -> None:
    model = PixelCoins(SHAPE, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="empty"):
        evaluate(model, np.zeros((0, *SHAPE), np.float32))
    with pytest.raises(ValueError, match="5 examples but y has 4 rows"):
        evaluate(model, _images(5), y=np.zeros(4))
