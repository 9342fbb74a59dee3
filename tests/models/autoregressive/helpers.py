"""Helpers shared by the autoregressive model tests (not a test module).

Every model the tests build comes from :func:`small_model`, with the explicit small
hyper-parameters of ``SMALL_HPARAMS``: the tests never depend on the defaults that the
model files or the registry choose.

Binary inputs are enumerated with the first dimension (the first pixel in raster order)
most significant, so code k of :func:`binary_inputs` is the k-th row of
``binary_vectors`` and a top half fixes a contiguous block of codes.
"""

import itertools

import numpy as np
from scipy import stats

import autograd as ag
from minigen.models.autoregressive.diagonal_bilstm import DiagonalBiLSTM
from minigen.models.autoregressive.fvsbn import FVSBN
from minigen.models.autoregressive.gated_pixelcnn import GatedPixelCNN
from minigen.models.autoregressive.made import MADE
from minigen.models.autoregressive.nade import NADE
from minigen.models.autoregressive.pixelcnn import PixelCNN
from minigen.models.autoregressive.rnade import RNADE
from minigen.models.autoregressive.row_lstm import RowLSTM
from minigen.optim import Adam

MODEL_CLASSES = {
    "fvsbn": FVSBN,
    "nade": NADE,
    "made": MADE,
    "rnade": RNADE,
    "pixelcnn": PixelCNN,
    "gated_pixelcnn": GatedPixelCNN,
    "row_lstm": RowLSTM,
    "diagonal_bilstm": DiagonalBiLSTM,
}
SMALL_HPARAMS = {
    "fvsbn": {"window": None},
    "nade": {"hidden": 3},
    "made": {"hidden": (8,), "num_masks": 1, "ordering": "natural"},
    "rnade": {"hidden": 3, "num_components": 2, "rescale": True},
    "pixelcnn": {"channels": 4, "first_kernel": 3, "kernel_size": 3, "num_blocks": 2},
    "gated_pixelcnn": {"channels": 4, "first_kernel": 3, "kernel_size": 3, "num_layers": 2},
    "row_lstm": {"channels": 4, "first_kernel": 3, "kernel_size": 3, "num_layers": 1},
    "diagonal_bilstm": {"channels": 4, "first_kernel": 3, "num_layers": 1},
}
VECTOR_MODELS = ("fvsbn", "nade", "made", "rnade")
IMAGE_MODELS = ("pixelcnn", "gated_pixelcnn", "row_lstm", "diagonal_bilstm")
BINARY_MODELS = ("fvsbn", "nade", "made", *IMAGE_MODELS)


def perturb(model, rng: np.random.Generator, noise: float) -> None:
    """Add N(0, noise²) to every parameter: weights far from the small initial ones give
    distributions far from uniform, which the tests need to have power."""
    for parameter in model.parameters():
        parameter.data = parameter.data + noise * rng.standard_normal(parameter.shape).astype(
            parameter.dtype)


def small_model(name: str, data_shape: tuple[int, ...], seed: int = 0, noise: float = 0.0,
                dtype=np.float64, **hparams):
    """Model ``name`` on ``data_shape`` with ``SMALL_HPARAMS[name]`` updated by ``hparams``,
    in ``dtype``, its parameters perturbed by N(0, noise²) noise drawn from ``seed``."""
    model = MODEL_CLASSES[name](tuple(data_shape), rng=np.random.default_rng(seed),
                                **{**SMALL_HPARAMS[name], **hparams})
    model.astype(dtype)
    perturb(model, np.random.default_rng(seed + 100), noise)
    return model


def native_shape(name: str, height: int, width: int) -> tuple[int, ...]:
    """An H×W example as the model reads it natively: (1, H, W) images for the image
    models, (H·W,) vectors for the vector models."""
    return (1, height, width) if name in IMAGE_MODELS else (height * width,)


def top_half(x: np.ndarray) -> np.ndarray:
    """What ``complete`` is given: the top ⌊H/2⌋ rows of (N, 1, H, W) images, or the
    first ⌊D/2⌋ dims of (N, D) vectors."""
    return x[:, :, : x.shape[2] // 2] if x.ndim == 4 else x[:, : x.shape[1] // 2]


def binary_vectors(num_dims: int) -> np.ndarray:
    """All 2^D binary vectors (2^D, D), the first dim most significant."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=num_dims)))


def binary_inputs(data_shape: tuple[int, ...]) -> np.ndarray:
    """All binary examples of ``data_shape`` (2^D, *data_shape), in raster order, the first
    dim most significant."""
    return binary_vectors(int(np.prod(data_shape))).reshape(-1, *data_shape)


def random_inputs(name: str, data_shape: tuple[int, ...], n: int, seed: int) -> np.ndarray:
    """n examples the model can score: fair bits, or values in [0, 1) for RNADE."""
    values = np.random.default_rng(seed).random((n, *data_shape))
    return values if name == "rnade" else (values < 0.5).astype(np.float64)


def toy_binary_data(data_shape: tuple[int, ...] | int, n: int, seed: int) -> np.ndarray:
    """Correlated binary examples (n, *data_shape): noisy copies of one random bit."""
    data_shape = (data_shape,) if isinstance(data_shape, int) else tuple(data_shape)
    rng = np.random.default_rng(seed)
    bit = rng.random((n,) + (1,) * len(data_shape)) < 0.5
    flips = rng.random((n, *data_shape)) < 0.1
    return (bit ^ flips).astype(np.float32)


def logit_jacobian(logits_fn, x: np.ndarray) -> np.ndarray:
    """J[i, j] = Σ_n |∂ logits[n, i] / ∂ x[n, j]|, each row from one autograd.grad call.

    logits_fn maps an input Tensor (N, ...) to (N, D_out, ...); x is flattened to (N, D).
    """
    x_tensor = ag.Tensor(x, requires_grad=True)
    logits = logits_fn(x_tensor)
    rows = []
    for i in range(logits.shape[1]):
        (gradient,) = ag.grad(logits[:, i].sum(), [x_tensor], retain_graph=True,
                              allow_unused=True)
        rows.append(np.abs(gradient.data.reshape(len(x), -1)).sum(axis=0))
    return np.stack(rows)


def binary_codes(samples: np.ndarray) -> np.ndarray:
    """The index in :func:`binary_inputs` of each binary example (n, ...) -> (n,)."""
    flat = samples.reshape(len(samples), -1)
    assert set(np.unique(flat)) <= {0.0, 1.0}
    return flat.astype(int) @ (2 ** np.arange(flat.shape[1])[::-1])


def chi_square_p_value(samples: np.ndarray, probabilities: np.ndarray) -> float:
    """Pearson chi-square of binary samples (n, ...) against p over :func:`binary_inputs`.

    Cells expected to hold fewer than 5 samples are pooled into one.
    """
    counts = np.bincount(binary_codes(samples), minlength=len(probabilities))
    expected = len(samples) * probabilities / probabilities.sum()
    small = expected < 5
    counts = np.append(counts[~small], counts[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    keep = expected > 0
    return stats.chisquare(counts[keep], expected[keep]).pvalue


def conditional_given_top(joint: np.ndarray, top: np.ndarray) -> np.ndarray:
    """p(rest | first k dims = top) over the binary completions of ``top`` (k,), in
    :func:`binary_inputs` order of the rest, from the joint over all 2^D inputs."""
    bits = np.asarray(top, dtype=int).ravel()
    rows = joint.reshape(2 ** len(bits), -1)[bits @ (2 ** np.arange(len(bits))[::-1])]
    return rows / rows.sum()


def loss_after_training(model, x: np.ndarray, steps: int, lr: float) -> tuple[float, float]:
    """(loss before, loss after) ``steps`` full-batch Adam steps."""
    optimizer = Adam(model.parameters(), lr=lr)
    before = model.loss(x).item()
    for _ in range(steps):
        optimizer.zero_grad()
        model.loss(x).backward()
        optimizer.step()
    return before, model.loss(x).item()
