"""MNIST, read from its IDX files; downloaded only when asked, checked by SHA-256.

Files are looked for in ``root``, by default ``$MINIGEN_DATA/mnist`` when the environment
variable MINIGEN_DATA is set, else ``~/.cache/minigen/mnist``. ``load_mnist(...,
download=True)`` fetches the missing ones from ``MNIST_BASE_URL`` (or ``base_url``). Each
download is checked against ``MNIST_SHA256`` before it is written, and written to a
temporary file renamed into place, so an interrupted or corrupted download never leaves
a file under the real name. Files already present are read as they are, unchecked.

IDX format (LeCun et al.): 2 zero bytes, a dtype code, the number of dimensions d, then d
big-endian uint32 sizes, then the values big-endian in row-major order.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import urllib.request
import uuid
import zlib
from pathlib import Path

import numpy as np

from minigen.checks import check_choice

from .digits import VIEWS, grey_to_view

MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# SHA-256 of the published .gz files (the same bytes on every mirror).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}
MNIST_MAX_GREY = 255
SPLITS = ("train", "test", "all")

IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _decompress_if_gzip(raw: bytes, path: Path) -> bytes:
    # Recognise gzip by its magic bytes rather than the file name, so a renamed file
    # still reads.
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({error})") from error


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed.

    Returns
    -------
    (sizes...) array in native byte order, of the file's dtype (uint8, int8, int16,
    int32, float32 or float64).

    Raises
    ------
    ValueError
        when the file is not IDX (bad magic, unknown dtype code) or its size disagrees
        with its header (truncated: expected N bytes, got M).
    """
    path = Path(path)
    content = _decompress_if_gzip(path.read_bytes(), path)
    if len(content) < 4:
        raise ValueError(f"{path}: {len(content)} bytes is too short for an IDX header")
    if content[0] != 0 or content[1] != 0:
        raise ValueError(f"{path}: bad magic, IDX starts with two zero bytes, got {content[:2]!r}")
    code, ndim = content[2], content[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{known_code:02X}" for known_code in IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    header_bytes = 4 + 4 * ndim
    if len(content) < header_bytes:
        raise ValueError(
            f"{path}: truncated header: expected {header_bytes} bytes for {ndim} sizes, "
            f"got {len(content)}"
        )
    shape = tuple(int(size) for size in np.frombuffer(content, ">u4", ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    got = len(content) - header_bytes
    if got < expected:
        raise ValueError(f"{path}: truncated: expected {expected} bytes of data, got {got}")
    if got > expected:
        raise ValueError(f"{path}: {got - expected} bytes after the {expected} bytes of data")
    values = np.frombuffer(content, dtype, offset=header_bytes).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def _replace_atomically(path: Path, content: bytes) -> None:
    # A uniquely named sibling renamed over the target: readers see the old file or the
    # whole new one, never half of it. open() rather than mkstemp keeps the umask's
    # permissions instead of 0600.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with open(temporary, "xb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ".gz".

    Parameters
    ----------
    path : destination, replaced atomically
    array : (sizes...) of dtype uint8, int8, int16, int32, float32 or float64, at most
        255 dimensions each below 2^32
    """
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        names = ", ".join(str(dtype) for dtype in codes)
        raise TypeError(f"IDX cannot store dtype {array.dtype}; supported: {names}")
    if array.ndim > 255 or any(size >= 2**32 for size in array.shape):
        raise ValueError(f"IDX needs <= 255 dimensions each < 2^32; got shape {array.shape}")
    header = bytes([0, 0, codes[native], array.ndim])
    sizes = np.asarray(array.shape, dtype=">u4").tobytes()
    values = np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    content = header + sizes + values
    path = Path(path)
    if path.suffix == ".gz":
        content = gzip.compress(content)
    _replace_atomically(path, content)


def default_mnist_root() -> Path:
    """``$MINIGEN_DATA/mnist`` if MINIGEN_DATA is set, else ``~/.cache/minigen/mnist``."""
    data_root = os.environ.get("MINIGEN_DATA")
    if data_root:
        return Path(data_root).expanduser() / "mnist"
    return Path.home() / ".cache" / "minigen" / "mnist"


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _download(filename: str, root: Path, base_url: str) -> None:
    url = base_url.rstrip("/") + "/" + filename
    with urllib.request.urlopen(url) as response:
        content = response.read()
    expected = MNIST_SHA256[filename]
    actual = _sha256(content)
    if actual != expected:
        # Nothing is written under the real name, so a bad download cannot be loaded.
        raise ValueError(
            f"{filename} from {url}: SHA-256 mismatch, expected {expected}, got {actual}; "
            f"the file was not kept"
        )
    _replace_atomically(root / filename, content)


def _missing_files(root: Path, filenames: list[str]) -> list[str]:
    return [filename for filename in filenames if not (root / filename).is_file()]


def _load_split(split: str, root: Path, view: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    images_file, labels_file = MNIST_FILES[split]
    grey = read_idx(root / images_file)
    labels = read_idx(root / labels_file)
    if grey.ndim != 3 or labels.ndim != 1 or len(grey) != len(labels):
        raise ValueError(
            f"{root}: {images_file} has shape {grey.shape} and {labels_file} "
            f"{labels.shape}; expected (N, H, W) images and (N,) labels"
        )
    images = grey_to_view(grey[:, None, :, :], view, MNIST_MAX_GREY, dtype)
    return images, labels.astype(np.int64)


def load_mnist(
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = False,
    view: str = "unit",
    base_url: str = MNIST_BASE_URL,
    dtype=np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST from ``root``, downloading the missing files only if ``download``.

    Parameters
    ----------
    split : "train" (60,000), "test" (10,000) or "all" (train then test)
    root : directory of the four .gz files; default ``default_mnist_root()``
    download : fetch missing files from ``base_url`` (a "file://" URL works too)
    view : "grey" (0..255), "unit" (x/255), "signed" (x/127.5 − 1) or "binary"
        (x >= 128)
    base_url : where the files are fetched from
    dtype : floating dtype of the images

    Returns
    -------
    images : (N, 1, 28, 28) array of ``dtype``
    labels : (N,) int64
    """
    check_choice("split", split, SPLITS)
    check_choice("view", view, VIEWS)
    root = default_mnist_root() if root is None else Path(root)
    splits = ["train", "test"] if split == "all" else [split]
    filenames = [filename for name in splits for filename in MNIST_FILES[name]]
    missing = _missing_files(root, filenames)
    if missing and not download:
        raise FileNotFoundError(
            f"MNIST files {missing} not found in {root}; pass download=True (on the command "
            f"line: --download) to fetch them from {base_url} (or set root=, or the "
            "MINIGEN_DATA environment variable)"
        )
    if missing:
        root.mkdir(parents=True, exist_ok=True)
        for filename in missing:
            _download(filename, root, base_url)
    if split != "all":
        return _load_split(split, root, view, dtype)
    train_images, train_labels = _load_split("train", root, view, dtype)
    test_images, test_labels = _load_split("test", root, view, dtype)
    return np.concatenate([train_images, test_images]), np.concatenate([train_labels, test_labels])
