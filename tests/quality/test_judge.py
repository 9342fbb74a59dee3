import numpy as np
import pytest

from minigen.data import get_dataset
from minigen.quality.judge import (
    JUDGE_DATA,
    RECIPE,
    judge_outputs,
    load_judge,
    to_judge_input,
    train_judge,
    weights_filename,
)

MIN_TEST_ACCURACY = 0.97


def accuracy(judge, images, labels):
    _, logits = judge_outputs(judge, images)
    return float(np.mean(logits.argmax(axis=1) == labels))


@pytest.mark.parametrize("data_name", JUDGE_DATA)
def test_shipped_judge_classifies_a_real_test_digit_right_more_than_97_percent_of_the_time(
        data_name):
    images, labels = get_dataset(data_name, "test")
    assert accuracy(load_judge(data_name), images, labels) > MIN_TEST_ACCURACY


@pytest.mark.parametrize("data_name", ["digits-grey", "digits-signed", "digits-dequantized"])
def test_other_views_of_the_test_digits_map_exactly_onto_the_unit_view(data_name):
    images, _ = get_dataset(data_name, "test")
    mapped, judge_data = to_judge_input(images, data_name)
    assert judge_data == "digits"
    np.testing.assert_allclose(mapped, get_dataset("digits", "test")[0], atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("data_name", JUDGE_DATA)
def test_retraining_with_the_recipe_reproduces_the_shipped_weights(data_name):
    retrained = train_judge(data_name, RECIPE)
    shipped = load_judge(data_name).state_dict()
    for name, value in retrained.state_dict().items():
        np.testing.assert_allclose(value.astype(np.float32), shipped[name], rtol=1e-4,
                                   atol=1e-5, err_msg=name)


@pytest.mark.parametrize("data_name", JUDGE_DATA)
def test_shipped_weights_are_a_float32_npz_that_loads_without_pickle(data_name):
    from importlib import resources

    source = resources.files("minigen.quality").joinpath(weights_filename(data_name))
    with source.open("rb") as file, np.load(file, allow_pickle=False) as stored:
        assert set(stored.files) == set(load_judge(data_name).state_dict())
        assert all(stored[name].dtype == np.float32 for name in stored.files)


def test_features_are_the_penultimate_layer_and_logits_follow_from_them():
    judge = load_judge("digits")
    images = get_dataset("digits", "test")[0][:5]
    features, logits = judge_outputs(judge, images)
    assert features.shape == (5, RECIPE.feature_size) and logits.shape == (5, 10)
    assert features.min() >= 0  # after the ReLU
    weight, bias = judge.classifier.weight.data, judge.classifier.bias.data
    np.testing.assert_allclose(logits, features @ weight.T + bias, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 64), (4, 8, 8), (4, 1, 28, 28), (4, 3, 8, 8)])
def test_images_of_the_wrong_shape_are_a_value_error_naming_the_expected_shape(shape):
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\).*" + str(shape).replace("(", r"\(")
                       .replace(")", r"\)")):
        judge_outputs(load_judge("digits"), np.zeros(shape))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        to_judge_input(np.zeros(shape), "digits-signed")


def test_data_without_a_judge_is_a_value_error_listing_the_judged_views():
    with pytest.raises(ValueError, match="digits-dequantized"):
        to_judge_input(np.zeros((2, 1, 8, 8)), "mnist")
    with pytest.raises(ValueError, match="digits-binary"):
        train_judge("digits-signed")


def test_binary_data_takes_only_zeros_and_ones_not_bernoulli_means():
    binary = get_dataset("digits-binary", "test")[0]
    np.testing.assert_array_equal(to_judge_input(binary, "digits-binary")[0], binary)
    with pytest.raises(ValueError, match="0 or 1.*Bernoulli means"):
        to_judge_input(np.full((2, 1, 8, 8), 0.5), "digits-binary")
