"""Every model checks its input at the door (``Model.examples``): binary models take 0 and 1
only, and no model takes NaN, inf or an empty batch; each refusal names what was expected."""

from __future__ import annotations

import numpy as np
import pytest

from minigen.data import get_dataset
from minigen.models.registry import REGISTRY, build, get_spec

BINARY = sorted(name for name, spec in REGISTRY.items()
                if spec.model_class().binary_data and spec.data == "digits-binary")
DIGIT_MODELS = sorted(name for name, spec in REGISTRY.items()
                      if spec.data in ("digits", "digits-binary", "digits-signed")
                      and set(spec.model_class().conditions) <= {"y"})


def _model(name: str):
    return build(name, (1, 8, 8), np.random.default_rng(0))


def test_the_binary_models_are_the_ones_expected() -> None:
    assert {"nade", "made", "fvsbn", "pixelcnn", "rbm", "gsn", "markov-chain"} <= set(BINARY)
    assert "rnade" not in BINARY and "ppca" not in BINARY


@pytest.mark.parametrize("name", BINARY)
def test_binary_models_refuse_grey_levels(name: str) -> None:
    grey, _ = get_dataset("digits-grey" if "digits-grey" in REGISTRY else "digits", "test")
    model = _model(name)
    with pytest.raises(ValueError, match="binary"):
        model.loss(grey[:4] * 16, np.random.default_rng(0))  # levels 0..16


@pytest.mark.parametrize("name", DIGIT_MODELS)
def test_every_model_refuses_nan_and_empty_batches(name: str) -> None:
    x, y = get_dataset(get_spec(name).data, "test")
    model = _model(name)
    labels = (lambda n: {"y": y[:n]}) if "y" in model.conditions else (lambda n: {})
    bad = x[:4].copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.loss(bad, np.random.default_rng(0), **labels(4))
    with pytest.raises(ValueError, match="empty"):
        model.loss(x[:0], np.random.default_rng(0), **labels(0))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_model_refuses_a_sample_count_that_is_not_a_positive_int(
        name: str) -> None:
    sample = REGISTRY[name].model_class().sample
    # the check is the protocol's (Model.__init_subclass__), so no model can lack it
    assert getattr(sample, "checks_n", False), f"{name}.sample does not check n"
    model = None
    for bad, kind in ((0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(kind, match="n must be a positive int"):
            sample(model, bad, np.random.default_rng(0))


@pytest.mark.parametrize(("name", "data", "fragment"), [
    ("vae", "digits-grey", r"x must lie in \[0, 1\] as in 'digits'; got values in \[0, 16\]"),
    ("dcgan", "digits", None),  # [0, 1] is inside [−1, 1]: taken
    ("dcgan", "digits-grey", r"x must lie in \[-1, 1\] as in 'digits-signed'"),
    ("gan", "ring", r"x must lie in \[-1, 1\]"),
])
def test_models_with_a_value_range_refuse_data_outside_it(name: str, data: str,
                                                          fragment: str | None) -> None:
    x, _ = get_dataset(data, "test")
    model = build(name, x.shape[1:], np.random.default_rng(0))
    if fragment is None:
        model.loss(x[:4], np.random.default_rng(0))
    else:
        with pytest.raises(ValueError, match=fragment):
            model.loss(x[:4], np.random.default_rng(0))
