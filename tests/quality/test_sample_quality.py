import numpy as np
import pytest

from minigen.data import get_dataset
from minigen.quality import DIRECTION, FLOOR_SUFFIX, QUALITY_DATA, direction, sample_quality

SEED = 7


def real_training_digits(data_name, num_samples, seed):
    """The training digits sample_quality draws for its floors with default_rng(seed)."""
    images, _ = get_dataset(data_name, "train")
    return images[np.random.default_rng(seed).choice(len(images), num_samples, replace=False)]


@pytest.mark.parametrize("data_name", ["digits", "digits-binary"])
def test_the_training_digits_behind_the_floor_score_exactly_the_floor(data_name):
    samples = real_training_digits(data_name, 400, SEED)
    quality = sample_quality(samples, data_name, rng=np.random.default_rng(SEED))
    for key in DIRECTION:
        if key in quality and key != "nn_distance_to_train":
            # equal up to float32 rounding (the judge sees the digits in other batches),
            # which can move a point across a k-NN ball's edge: one count, in 400
            # samples or in the 300 test digits coverage counts over (plus the float
            # error of the two shares' difference)
            one_count = 1 / len(get_dataset(data_name, "test")[0]) + 1e-12
            assert quality[key] == pytest.approx(quality[key + FLOOR_SUFFIX], rel=1e-6,
                                                 abs=one_count), key
    # copies of training digits are their own nearest neighbours: memorisation shows
    assert quality["nn_distance_to_train"] < 1e-3 * quality["nn_distance_to_train_floor"]


def test_every_key_is_a_metric_with_a_direction_and_a_floor():
    samples = real_training_digits("digits", 100, 0)
    labels = get_dataset("digits", "train")[1][:100]
    quality = sample_quality(samples, "digits", labels=labels, rng=np.random.default_rng(0))
    metrics = [key for key in quality if not key.endswith(FLOOR_SUFFIX)]
    assert set(metrics) == {key for key in DIRECTION if not key.startswith(("mode", "high"))}
    assert all(isinstance(value, float) for value in quality.values())
    assert {direction(key) for key in quality} == {"lower", "higher", "match"}
    with pytest.raises(ValueError, match="no direction"):
        direction("sharpness")


def test_the_floors_sit_where_real_data_sits():
    quality = sample_quality(real_training_digits("digits", 1000, 1), "digits",
                             rng=np.random.default_rng(2))
    for key in ("precision_floor", "recall_floor", "coverage_floor"):
        assert quality[key] > 0.8, key
    assert 0.7 < quality["density_floor"] < 1.3
    assert quality["class_kl_floor"] < 0.02  # the digits are nearly balanced


def test_noise_scores_worse_than_real_digits_on_every_ranked_metric():
    noise = np.random.default_rng(3).random((500, 1, 8, 8))
    quality = sample_quality(noise, "digits", rng=np.random.default_rng(4))
    for key, better in DIRECTION.items():
        if key not in quality or better == "match":
            continue
        worse = (quality[key] > quality[key + FLOOR_SUFFIX] if better == "lower"
                 else quality[key] < quality[key + FLOOR_SUFFIX])
        assert worse, key
    assert quality["fd"] > 10 * quality["fd_floor"] and quality["kid"] > 10 * quality["kid_floor"]
    assert quality["nn_distance_to_train"] > 2 * quality["nn_distance_to_train_floor"]


def test_one_repeated_digit_has_a_class_kl_near_log_ten_and_low_recall():
    images, labels = get_dataset("digits", "test")
    sevens = images[labels == 7]
    samples = sevens[np.arange(300) % len(sevens)]
    quality = sample_quality(samples, "digits", rng=np.random.default_rng(5))
    assert quality["class_kl"] > np.log(10) - 0.1
    assert quality["class_fraction_7"] > 0.95
    assert quality["recall"] < 0.2 and quality["coverage"] < 0.2


def test_conditional_accuracy_is_the_judge_accuracy_against_the_intended_labels():
    images, labels = get_dataset("digits", "test")
    rng = np.random.default_rng(6)
    right = sample_quality(images, "digits", labels=labels, rng=rng)
    assert right["conditional_accuracy"] == right["conditional_accuracy_floor"] > 0.97
    wrong = sample_quality(images, "digits", labels=(labels + 1) % 10, rng=rng)
    assert wrong["conditional_accuracy"] < 0.05


def test_a_model_in_minus_one_to_one_is_judged_after_the_documented_mapping():
    signed = get_dataset("digits-signed", "test")[0]
    unit = get_dataset("digits", "test")[0]
    from_signed = sample_quality(signed, "digits-signed", rng=np.random.default_rng(8))
    from_unit = sample_quality(unit, "digits", rng=np.random.default_rng(8))
    assert from_signed == pytest.approx(from_unit, rel=1e-5, abs=1e-6)


def test_unsupported_data_wrong_shapes_and_too_few_samples_are_value_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="moons"):
        sample_quality(np.zeros((10, 2)), "moons", rng=rng)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        sample_quality(np.zeros((10, 64)), "digits", rng=rng)
    with pytest.raises(ValueError, match="at least 6"):
        sample_quality(np.zeros((5, 1, 8, 8)), "digits", rng=rng)
    with pytest.raises(ValueError, match="labels"):
        sample_quality(np.zeros((10, 1, 8, 8)), "digits", labels=np.zeros(9, int), rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        sample_quality(np.zeros((10, 1, 8, 8)), "digits", rng=0)
    assert "ring-pacgan" in QUALITY_DATA and "digits-dequantized" in QUALITY_DATA


def test_quality_imports_nothing_above_the_engine_nn_optim_distributions_and_data():
    import ast
    import inspect

    import minigen.quality
    from minigen.quality import judge, metrics, modes

    forbidden = ("minigen.models", "minigen.train", "minigen.evaluate", "minigen.plot",
                 "minigen.cli", "minigen.checkpoint")
    for module in (minigen.quality, judge, metrics, modes):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [alias.name for alias in getattr(node, "names", [])]
                     if isinstance(node, ast.Import) else [])
            for name in names:
                assert not name.startswith(forbidden), (module.__name__, name)
