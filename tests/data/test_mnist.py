import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigen.data import load_mnist, read_idx, write_idx
from minigen.data import mnist as mnist_module

FILENAMES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
IDX_DTYPES = ["u1", "i1", ">i2", ">i4", ">f4", ">f8"]


def write_fake_mnist(root, num_train=5, num_test=3, seed=0):
    """Small random images and labels under the real MNIST file names."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, count in [("train", num_train), ("t10k", num_test)]:
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels)
        arrays[prefix] = (images, labels)
    return arrays


def test_idx_header_written_matches_the_published_layout(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "images.idx", images)
    content = (tmp_path / "images.idx").read_bytes()
    # magic 0x00000803: ubyte, 3 dimensions; then sizes as big-endian uint32
    assert content[:16] == struct.pack(">4I", 0x0803, 2, 3, 4)
    assert content[16:] == bytes(range(24))


def test_reads_a_hand_built_big_endian_int16_file(tmp_path):
    content = bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 3) + struct.pack(">3h", -2, 1, 300)
    (tmp_path / "values.idx").write_bytes(content)
    values = read_idx(tmp_path / "values.idx")
    assert values.tolist() == [-2, 1, 300]
    assert values.dtype == np.int16
    assert values.dtype.isnative


@settings(max_examples=40, deadline=None)
@given(
    array=st.sampled_from(IDX_DTYPES).flatmap(
        lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, max_side=5))
    ),
    compress=st.booleans(),
)
def test_write_then_read_idx_gives_back_the_array(tmp_path_factory, array, compress):
    path = tmp_path_factory.mktemp("idx") / ("array.idx.gz" if compress else "array.idx")
    write_idx(path, array)
    read_back = read_idx(path)
    assert read_back.shape == array.shape
    assert read_back.dtype == array.dtype.newbyteorder("=")
    assert read_back.tobytes() == array.astype(read_back.dtype).tobytes()


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    write_idx(tmp_path / "labels.gz", np.array([3, 1, 4], dtype=np.uint8))
    (tmp_path / "labels.gz").rename(tmp_path / "labels.idx")
    assert read_idx(tmp_path / "labels.idx").tolist() == [3, 1, 4]
    with gzip.open(tmp_path / "labels.idx") as file:
        assert file.read(4) == bytes([0, 0, 8, 1])


def test_truncated_file_says_how_many_bytes_were_expected(tmp_path):
    write_idx(tmp_path / "images.idx", np.zeros((2, 4, 4), dtype=np.uint8))
    content = (tmp_path / "images.idx").read_bytes()
    (tmp_path / "images.idx").write_bytes(content[:-5])
    with pytest.raises(ValueError, match="truncated: expected 32 bytes of data, got 27"):
        read_idx(tmp_path / "images.idx")


def test_truncated_header_is_a_value_error(tmp_path):
    (tmp_path / "short.idx").write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2]))
    with pytest.raises(ValueError, match="truncated header"):
        read_idx(tmp_path / "short.idx")


def test_extra_bytes_after_the_data_are_a_value_error(tmp_path):
    write_idx(tmp_path / "labels.idx", np.zeros(4, dtype=np.uint8))
    with open(tmp_path / "labels.idx", "ab") as file:
        file.write(b"junk")
    with pytest.raises(ValueError, match="4 bytes after"):
        read_idx(tmp_path / "labels.idx")


def test_bad_magic_is_a_value_error(tmp_path):
    (tmp_path / "png.idx").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(tmp_path / "png.idx")


def test_unknown_dtype_code_is_a_value_error(tmp_path):
    (tmp_path / "odd.idx").write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(ValueError, match="unknown IDX dtype code 0x0A"):
        read_idx(tmp_path / "odd.idx")


def test_truncated_gzip_stream_is_a_value_error(tmp_path):
    write_idx(tmp_path / "images.idx.gz", np.arange(4000, dtype=np.int32))
    content = (tmp_path / "images.idx.gz").read_bytes()
    (tmp_path / "images.idx.gz").write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(tmp_path / "images.idx.gz")


def test_write_idx_rejects_dtypes_idx_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize("split, prefix", [("train", "train"), ("test", "t10k")])
def test_load_mnist_reads_images_and_labels_as_written(tmp_path, split, prefix):
    written = write_fake_mnist(tmp_path)
    images, labels = load_mnist(split, root=tmp_path, view="grey")
    grey, written_labels = written[prefix]
    assert images.shape == (len(grey), 1, 28, 28)
    assert images.dtype == np.float32
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(images[:, 0], grey)
    np.testing.assert_array_equal(labels, written_labels)


def test_load_mnist_all_is_train_then_test(tmp_path):
    written = write_fake_mnist(tmp_path, num_train=4, num_test=2)
    images, labels = load_mnist("all", root=tmp_path, view="grey")
    np.testing.assert_array_equal(
        images[:, 0], np.concatenate([written["train"][0], written["t10k"][0]])
    )
    np.testing.assert_array_equal(labels, np.concatenate([written["train"][1], written["t10k"][1]]))


def test_mnist_views_scale_and_threshold_grey_levels(tmp_path):
    grey = np.array([[0, 127, 128, 255]], dtype=np.uint8).repeat(7 * 28, axis=0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", grey.reshape(1, 28, 28))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([7], dtype=np.uint8))
    first_pixels = {
        view: load_mnist("test", root=tmp_path, view=view)[0][0, 0, 0, :4].tolist()
        for view in ["grey", "unit", "signed", "binary"]
    }
    assert first_pixels["grey"] == [0, 127, 128, 255]
    np.testing.assert_allclose(first_pixels["unit"], [0, 127 / 255, 128 / 255, 1], rtol=1e-6)
    np.testing.assert_allclose(
        first_pixels["signed"], [-1, 127 / 127.5 - 1, 128 / 127.5 - 1, 1], rtol=1e-6
    )
    assert first_pixels["binary"] == [0, 0, 1, 1]


def test_mismatched_image_and_label_counts_are_a_value_error(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match=r"\(3, 28, 28\)"):
        load_mnist("test", root=tmp_path)


def test_missing_files_without_download_say_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        load_mnist("train", root=tmp_path / "nowhere")
    message = str(raised.value)
    assert str(tmp_path / "nowhere") in message
    assert "download=True" in message
    assert "train-images-idx3-ubyte.gz" in message


def test_default_root_follows_minigen_data_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGEN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "mnist")):
        load_mnist("test")
    written = write_fake_mnist(tmp_path / "mnist")
    _, labels = load_mnist("test")
    np.testing.assert_array_equal(labels, written["t10k"][1])


def test_default_root_without_variable_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("MINIGEN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist_module.default_mnist_root() == tmp_path / ".cache" / "minigen" / "mnist"


def test_download_fetches_checks_and_keeps_files(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    written = write_fake_mnist(mirror)
    for filename in FILENAMES:
        digest = hashlib.sha256((mirror / filename).read_bytes()).hexdigest()
        monkeypatch.setitem(mnist_module.MNIST_SHA256, filename, digest)
    cache = tmp_path / "cache"
    _, labels = load_mnist("train", root=cache, download=True, base_url=mirror.as_uri())
    np.testing.assert_array_equal(labels, written["train"][1])
    assert sorted(path.name for path in cache.iterdir()) == sorted(FILENAMES[:2])
    for filename in FILENAMES[:2]:
        assert (cache / filename).read_bytes() == (mirror / filename).read_bytes()


def test_download_with_wrong_digest_raises_and_keeps_nothing(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write_fake_mnist(mirror)
    wrong = "0" * 64
    monkeypatch.setitem(mnist_module.MNIST_SHA256, "t10k-images-idx3-ubyte.gz", wrong)
    actual = hashlib.sha256((mirror / "t10k-images-idx3-ubyte.gz").read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    with pytest.raises(ValueError) as raised:
        load_mnist("test", root=cache, download=True, base_url=mirror.as_uri())
    message = str(raised.value)
    assert "t10k-images-idx3-ubyte.gz" in message
    assert wrong in message and actual in message
    assert list(cache.iterdir()) == []


def test_published_digest_table_lists_the_four_files_as_sha256_hex():
    assert sorted(mnist_module.MNIST_SHA256) == sorted(FILENAMES)
    for digest in mnist_module.MNIST_SHA256.values():
        assert len(digest) == 64
        int(digest, 16)


@pytest.mark.parametrize(
    "arguments, argument_name", [({"split": "valid"}, "split"), ({"view": "rgb"}, "view")]
)
def test_bad_split_or_view_is_a_value_error_naming_it(tmp_path, arguments, argument_name):
    with pytest.raises(ValueError, match=argument_name):
        load_mnist(root=tmp_path, **arguments)
