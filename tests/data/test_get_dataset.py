import ast
import inspect

import numpy as np
import pytest

import minigen.data
from minigen.data import DATASETS, get_dataset, ring_centers, write_idx

OFFLINE_DATASETS = [name for name in DATASETS if not name.startswith("mnist")]
TOY2D = ["ring", "grid", "ring-pacgan", "grid-pacgan", "moons", "swissroll"]
EXPECTED_NAMES = {
    "digits",
    "digits-binary",
    "digits-grey",
    "digits-signed",
    "digits-dequantized",
    "digits-pix2pix",
    "digits-thin-bold",
    "digits-domains",
    "digits-captions",
    "mnist",
    "mnist-binary",
    "ring",
    "grid",
    "ring-pacgan",
    "grid-pacgan",
    "moons",
    "swissroll",
    "bars-and-stripes-3",
    "bars-and-stripes-4",
    "names",
    "colour-pixels",
}
CONTRACT_EXPORTS = [
    "load_digits",
    "dequantize",
    "DIGITS_SHA256",
    "ring_of_gaussians",
    "ring_centers",
    "grid_of_gaussians",
    "grid_centers",
    "two_moons",
    "swiss_roll",
    "bars_and_stripes_patterns",
    "bars_and_stripes_log_prob",
    "sample_bars_and_stripes",
    "read_idx",
    "write_idx",
    "load_mnist",
    "DataLoader",
    "get_dataset",
    "DATASETS",
]


def test_datasets_lists_the_agreed_names():
    assert set(DATASETS) == EXPECTED_NAMES


def test_package_exports_the_agreed_names():
    for name in CONTRACT_EXPORTS:
        assert hasattr(minigen.data, name), name


def test_data_package_imports_no_autograd_or_other_minigen_subpackage():
    # minigen.checks (pure Python/NumPy argument checks) is the one lower module it may use
    submodules = ["digits", "toy2d", "bars_and_stripes", "mnist", "loader"]
    for module in [minigen.data, *(getattr(minigen.data, name) for name in submodules)]:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert (node.level == 1 or node.module == "minigen.checks"
                        or node.module.split(".")[0] not in {"autograd", "minigen"})
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in {"autograd", "minigen"}


@pytest.mark.parametrize("name", OFFLINE_DATASETS)
def test_train_and_test_are_aligned_and_all_is_their_concatenation(name):
    train_x, train_y = get_dataset(name, "train")
    test_x, test_y = get_dataset(name, "test")
    all_x, all_y = get_dataset(name, "all")
    assert len(train_x) == len(train_y) and len(test_x) == len(test_y)
    assert train_y.dtype == np.int64
    if name.startswith("digits") and name not in minigen.data.TRANSLATION_SETS:
        assert len(train_x) + len(test_x) == len(all_x) == 1797  # "all" is in file order
    else:
        np.testing.assert_array_equal(np.concatenate([train_x, test_x]), all_x)
        np.testing.assert_array_equal(np.concatenate([train_y, test_y]), all_y)


@pytest.mark.parametrize("name", TOY2D)
def test_toy2d_sets_are_fixed_4000_and_1000_point_draws(name):
    train_x, _ = get_dataset(name, "train")
    test_x, _ = get_dataset(name, "test")
    assert train_x.shape == (4000, 2) and test_x.shape == (1000, 2)
    assert train_x.dtype == np.float64
    np.testing.assert_array_equal(train_x, get_dataset(name, "train")[0])


def test_ring_labels_are_the_mode_each_point_belongs_to():
    points, modes = get_dataset("ring", "train")
    assert set(modes.tolist()) == set(range(8))
    assert np.all(np.linalg.norm(points - ring_centers()[modes], axis=1) < 0.2)


@pytest.mark.parametrize("name, side", [("bars-and-stripes-3", 3), ("bars-and-stripes-4", 4)])
def test_bars_and_stripes_sets_are_2000_and_500_binary_images(name, side):
    train_x, train_y = get_dataset(name, "train")
    test_x, _ = get_dataset(name, "test")
    assert train_x.shape == (2000, 1, side, side) and test_x.shape == (500, 1, side, side)
    assert set(np.unique(train_x).tolist()) == {0.0, 1.0}
    assert np.all(train_y == 0)


@pytest.mark.parametrize(
    "name, low, high",
    [("digits", 0, 1), ("digits-binary", 0, 1), ("digits-grey", 0, 16), ("digits-signed", -1, 1)],
)
def test_digit_views_have_their_ranges(name, low, high):
    images, _ = get_dataset(name, "train")
    assert images.shape == (1497, 1, 8, 8)
    assert images.min() == low and images.max() == high


def test_dequantized_digits_are_fixed_without_rng_and_drawn_with_it():
    fixed = get_dataset("digits-dequantized", "test")[0]
    np.testing.assert_array_equal(fixed, get_dataset("digits-dequantized", "test")[0])
    drawn = get_dataset("digits-dequantized", "test", rng=np.random.default_rng(5))[0]
    assert not np.array_equal(fixed, drawn)
    grey = get_dataset("digits-grey", "test")[0]
    np.testing.assert_array_equal(np.floor(drawn.astype(np.float64) * 17), grey)


def test_mnist_names_read_from_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGEN_DATA", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    grey = np.full((2, 28, 28), 200, dtype=np.uint8)
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", grey)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.array([4, 2], np.uint8))
    images, labels = get_dataset("mnist", "test")
    assert labels.tolist() == [4, 2]
    np.testing.assert_allclose(images, 200 / 255, rtol=1e-6)
    assert np.all(get_dataset("mnist-binary", "test")[0] == 1)


def test_unknown_name_is_a_value_error_listing_the_valid_names():
    with pytest.raises(ValueError) as raised:
        get_dataset("cifar10", "train")
    for name in DATASETS:
        assert name in str(raised.value)


def test_unknown_split_is_a_value_error():
    with pytest.raises(ValueError, match="split"):
        get_dataset("ring", "validation")
