"""The sequence models through the trainer, the evaluator and the plots (small and short)."""

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.plot import INFLUENCES, TARGET, make_run_plots, receptive_field
from minigen.train import load_split, train

from .helpers import random_tokens, small_lm


def test_pixel_values_path_equals_the_token_path_on_binary_images():
    for name in ("lstm_lm", "transformer_lm", "bigram"):
        model = small_lm(name, (1, 3, 3), seed=1)
        x = random_tokens(model, 4, np.random.default_rng(2))
        by_value = model.logits(Tensor(x.astype(np.float64))).data
        np.testing.assert_allclose(by_value, model.logits(x).data, rtol=1e-12, atol=1e-12)


def test_receptive_field_of_a_raster_lm_is_every_earlier_pixel():
    model = small_lm("transformer_lm", (1, 4, 4), seed=3)
    roles = receptive_field(model, (2, 1))
    expected = np.zeros((4, 4), dtype=bool)
    expected.reshape(-1)[:9] = True  # raster positions 0 … 8 come before pixel (2, 1)
    assert roles[2, 1] == TARGET
    np.testing.assert_array_equal(roles == INFLUENCES, expected)
    gradient, = ag.grad(model.logits(Tensor(np.full((1, 1, 4, 4), 0.5), requires_grad=True))
                        [:, 9].sum(), [model.token_embedding.weight])
    assert np.abs(gradient.data).sum() > 0


def test_a_recurrent_lm_trains_evaluates_and_plots_on_digits(tmp_path):
    result = train("rnn_lm", data="digits-binary", epochs=1, out_dir=tmp_path, progress=False,
                   overrides={"embedding_dim": 4, "hidden": 8})
    assert np.isfinite(result.metrics["nll"]) and result.metrics["nll"] > 0
    np.testing.assert_allclose(result.metrics["nats_per_token"] * 64, result.metrics["nll"])
    x_test, y_test = load_split("digits-binary", "test")
    plots = make_run_plots(result.model, tmp_path, x_test, y_test, result.history,
                           np.random.default_rng(0), "digits-binary")
    names = {p.split("/")[-1] for p in plots}
    assert {"samples.png", "completions.png", "receptive_field.png"} <= names


def test_the_bigram_counts_names_through_the_trainer(tmp_path):
    result = train("bigram", out_dir=tmp_path, progress=False)
    assert abs(result.metrics["nats_per_token"] - 2.45) < 0.02
    assert result.metrics["num_free_parameters"] == 27 * 26
    names = result.model.decode(result.model.sample(5, np.random.default_rng(0)))
    assert all(isinstance(n, str) and n.isalpha() or n == "" for n in names)


def test_the_generative_classifier_trains_and_calibrates_through_the_trainer(tmp_path):
    result = train("generative_classifier", epochs=1, out_dir=tmp_path, progress=False,
                   overrides={"density": "gaussian"})
    metrics = result.metrics
    assert np.isfinite(metrics["train_rejection_threshold"])
    model = result.model
    x_test, y_test = load_split("digits-binary", "test")
    assert (model.predict(x_test, reject=False) == y_test).mean() > 0.9
