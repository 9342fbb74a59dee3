"""The autograd engine against PyTorch on the CPU: forward + backward, median time per call.

    python benchmarks/autograd_bench.py [--rounds 7] [--phase-seconds 0.25] [--threads N]

Cases (all forward + backward, float32, the same expression in both libraries):

* tiny: ``(a + b).sum().backward()`` on two 4-element tensors — per-op overhead;
* mlp: 64→256→256→32 with ReLU, ``x @ w + b`` layers, batch 128, loss mean((y − t)²);
* conv: conv2d 16→32 channels, 3×3, padding 1, no bias, batch 64, 28×28, loss sum of the
  output, gradient with respect to the input and the weight;
* conv (weight only): the same with an input that needs no gradient.

Timing is benchmarks/harness.py's: the script re-executes itself with the glibc malloc
settings (without them torch's conv time swings by up to 2×) and ``--threads``
BLAS/OpenMP threads for both libraries (by default once at 1 thread and once at the
machine default, merged into one table); ours and torch alternate for ``--rounds`` rounds,
each timed phase preceded by a 0.3 s pause and one untimed call and lasting about
``--phase-seconds``. The table gives the median time per call over all rounds and the
median over rounds of the per-round ratio ours/torch. Gradients are reset to None before
every call in both libraries. Without torch only our column is printed.
"""

from __future__ import annotations

# Run as `python benchmarks/autograd_bench.py`, Python puts benchmarks/ first on sys.path,
# so the sibling harness imports by name.
import harness

ARGS = harness.start(__doc__)  # before NumPy: pins BLAS threads, may re-execute

import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autograd as ag  # noqa: E402

torch = harness.import_torch(ARGS.threads)

SIZES = [64, 256, 256, 32]
CASES = [
    ("tiny", "tiny: (a+b).sum().backward(), 4 elements", "≤ 0.5×"),
    ("mlp", "MLP 64→256→256→32 ReLU, batch 128", "≤ 1.2×"),
    ("conv", "conv2d 16→32 3×3 pad 1, 64×16×28×28, grad x and w", "≤ 4×"),
    ("conv_weight", "conv2d as above, grad w only", "—"),
]


def draw_values(rng: np.random.Generator) -> dict:
    """The float32 arrays both libraries start from."""
    def normal(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return {
        "a": normal(4), "b": normal(4),
        "layers": [(normal(i, o, scale=i**-0.5), normal(o, scale=0.1))
                   for i, o in zip(SIZES, SIZES[1:])],
        "x": normal(128, 64), "target": normal(128, 32),
        "image": normal(64, 16, 28, 28), "kernel": normal(32, 16, 3, 3, scale=(16 * 9) ** -0.5),
    }


def ours_library() -> SimpleNamespace:
    """The four functions :func:`cases` needs, from our engine."""
    return SimpleNamespace(leaf=lambda array: ag.Tensor(array.copy(), requires_grad=True),
                           constant=ag.Tensor, relu=ag.relu, conv2d=ag.conv2d)


def torch_library() -> SimpleNamespace:
    """The same four functions from torch."""
    return SimpleNamespace(leaf=lambda array: torch.tensor(array, requires_grad=True),
                           constant=torch.tensor, relu=torch.relu,
                           conv2d=torch.nn.functional.conv2d)


def cases(values: dict, lib: SimpleNamespace) -> dict[str, Callable[[], None]]:
    """One forward+backward step per case, written once for either library."""
    a, b = lib.leaf(values["a"]), lib.leaf(values["b"])

    def tiny() -> None:
        a.grad = b.grad = None
        (a + b).sum().backward()

    layers = [(lib.leaf(w), lib.leaf(bias)) for w, bias in values["layers"]]
    x, target = lib.constant(values["x"]), lib.constant(values["target"])

    def mlp() -> None:
        hidden = x
        for position, (w, bias) in enumerate(layers):
            w.grad = bias.grad = None
            hidden = hidden @ w + bias
            if position < len(layers) - 1:
                hidden = lib.relu(hidden)
        error = hidden - target
        (error * error).mean().backward()

    image, kernel = lib.leaf(values["image"]), lib.leaf(values["kernel"])
    image_constant = lib.constant(values["image"])

    def conv() -> None:
        image.grad = kernel.grad = None
        lib.conv2d(image, kernel, padding=1).sum().backward()

    def conv_weight() -> None:
        kernel.grad = None
        lib.conv2d(image_constant, kernel, padding=1).sum().backward()

    return {"tiny": tiny, "mlp": mlp, "conv": conv, "conv_weight": conv_weight}


def main() -> None:
    values = draw_values(np.random.default_rng(0))
    theirs = cases(values, torch_library()) if torch is not None else None
    rows = harness.compare(cases(values, ours_library()), theirs, ARGS.rounds,
                           ARGS.phase_seconds)
    labels = {key: (label, target) for key, label, target in CASES}
    for row in rows:
        row.name = labels[row.name][0]
    versions = f"NumPy {np.__version__}"
    if torch is not None:
        versions += f", torch {torch.__version__}"
    harness.report(ARGS, f"autograd vs torch CPU, forward + backward — {versions}, "
                         f"{ARGS.rounds} alternating rounds, medians; note: target ratio",
                   rows, notes={label: target for label, target in labels.values()})


if __name__ == "__main__":
    main()
