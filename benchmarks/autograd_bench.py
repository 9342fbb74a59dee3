"""The autograd engine against PyTorch on the CPU: forward + backward, median time per call.

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \\
        python benchmarks/autograd_bench.py [--rounds 7] [--threads 1]

Without those two glibc settings torch's conv time swings by up to 2× (the allocator
returns and re-maps its large buffers on every call); the script re-executes itself with
them when they are missing.

Cases (all forward + backward, float32, the same expression in both libraries):

* tiny: ``(a + b).sum().backward()`` on two 4-element tensors — per-op overhead;
* mlp: 64→256→256→32 with ReLU, ``x @ w + b`` layers, batch 128, loss mean((y − t)²);
* conv: conv2d 16→32 channels, 3×3, padding 1, no bias, batch 64, 28×28, loss sum of the
  output, gradient with respect to the input and the weight;
* conv (weight only): the same with an input that needs no gradient.

Both libraries run in this process, alternating ours/torch for ``--rounds`` rounds. Before
each timed phase the script sleeps 0.3 s and makes one untimed call (the other library's
BLAS/OpenMP threads may still be spinning). Each call is timed on its own; a phase lasts
about ``--phase-seconds``. The table gives the median time per call over all rounds and the
median over rounds of the per-round ratio ours/torch. Gradients are reset to None before
every call in both libraries. Both use ``--threads`` threads (default 1: fair on a shared
machine). Without torch only our column is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
if any(os.environ.get(name) != value for name, value in MALLOC_SETTINGS.items()):
    # glibc reads these at start-up only: run again with them set.
    os.environ.update(MALLOC_SETTINGS)
    os.execv(sys.executable, [sys.executable, *sys.argv])

THREADS = next((a.split("=")[1] for a in sys.argv if a.startswith("--threads=")), None)
if THREADS is None and "--threads" in sys.argv:
    THREADS = sys.argv[sys.argv.index("--threads") + 1]
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, THREADS or "1")  # before NumPy loads its BLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autograd as ag  # noqa: E402

try:
    import torch
except ImportError:  # the table then has our column only
    torch = None

Step = Callable[[], None]


SIZES = [64, 256, 256, 32]


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


def ours_cases(values: dict) -> dict[str, Step]:
    """One forward+backward step per case, written on our engine."""
    def leaf(array: np.ndarray) -> ag.Tensor:
        return ag.Tensor(array.copy(), requires_grad=True)

    a, b = leaf(values["a"]), leaf(values["b"])

    def tiny() -> None:
        a.grad = b.grad = None
        (a + b).sum().backward()

    layers = [(leaf(w), leaf(bias)) for w, bias in values["layers"]]
    x, target = ag.Tensor(values["x"]), ag.Tensor(values["target"])

    def mlp() -> None:
        hidden = x
        for position, (w, bias) in enumerate(layers):
            w.grad = bias.grad = None
            hidden = hidden @ w + bias
            if position < len(layers) - 1:
                hidden = ag.relu(hidden)
        error = hidden - target
        (error * error).mean().backward()

    image, kernel = leaf(values["image"]), leaf(values["kernel"])
    image_constant = ag.Tensor(values["image"])

    def conv() -> None:
        image.grad = kernel.grad = None
        ag.conv2d(image, kernel, padding=1).sum().backward()

    def conv_weight() -> None:
        kernel.grad = None
        ag.conv2d(image_constant, kernel, padding=1).sum().backward()

    return {"tiny": tiny, "mlp": mlp, "conv": conv, "conv_weight": conv_weight}


def torch_cases(values: dict) -> dict[str, Step]:
    """The same steps in PyTorch."""
    def leaf(array: np.ndarray) -> torch.Tensor:
        return torch.tensor(array, requires_grad=True)

    a, b = leaf(values["a"]), leaf(values["b"])

    def tiny() -> None:
        a.grad = b.grad = None
        (a + b).sum().backward()

    layers = [(leaf(w), leaf(bias)) for w, bias in values["layers"]]
    x, target = torch.tensor(values["x"]), torch.tensor(values["target"])

    def mlp() -> None:
        hidden = x
        for position, (w, bias) in enumerate(layers):
            w.grad = bias.grad = None
            hidden = hidden @ w + bias
            if position < len(layers) - 1:
                hidden = torch.relu(hidden)
        error = hidden - target
        (error * error).mean().backward()

    image, kernel = leaf(values["image"]), leaf(values["kernel"])
    image_constant = torch.tensor(values["image"])

    def conv() -> None:
        image.grad = kernel.grad = None
        torch.nn.functional.conv2d(image, kernel, padding=1).sum().backward()

    def conv_weight() -> None:
        kernel.grad = None
        torch.nn.functional.conv2d(image_constant, kernel, padding=1).sum().backward()

    return {"tiny": tiny, "mlp": mlp, "conv": conv, "conv_weight": conv_weight}


def timed_phase(step: Step, seconds: float) -> list[float]:
    """Pause, warm up once, then time single calls until ``seconds`` have passed."""
    time.sleep(0.3)
    step()
    times: list[float] = []
    phase_start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - phase_start < seconds:
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


CASES = [
    ("tiny", "tiny: (a+b).sum().backward(), 4 elements", "≤ 0.5×"),
    ("mlp", "MLP 64→256→256→32 ReLU, batch 128", "≤ 1.2×"),
    ("conv", "conv2d 16→32 3×3 pad 1, 64×16×28×28, grad x and w", "≤ 4×"),
    ("conv_weight", "conv2d as above, grad w only", "—"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--phase-seconds", type=float, default=0.25,
                        help="minimum timed seconds per phase")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")

    values = draw_values(np.random.default_rng(0))
    ours = ours_cases(values)
    theirs = None
    if torch is not None:
        torch.set_num_threads(args.threads)
        theirs = torch_cases(values)

    rows = []
    for key, label, target in CASES:
        our_times: list[float] = []
        torch_times: list[float] = []
        ratios: list[float] = []
        for _ in range(args.rounds):
            ours_round = timed_phase(ours[key], args.phase_seconds)
            our_times += ours_round
            if theirs is not None:
                torch_round = timed_phase(theirs[key], args.phase_seconds)
                torch_times += torch_round
                ratios.append(float(np.median(ours_round) / np.median(torch_round)))
        torch_cell = format_seconds(float(np.median(torch_times))) if torch_times else "—"
        ratio_cell = f"{np.median(ratios):.2f}×" if ratios else "—"
        rows.append((label, format_seconds(float(np.median(our_times))), torch_cell,
                     ratio_cell, target))

    versions = f"NumPy {np.__version__}"
    if torch is not None:
        versions += f", torch {torch.__version__}"
    print(f"autograd vs torch CPU — {versions}, {args.threads} thread(s), "
          f"{args.rounds} alternating rounds, medians\n")
    print("| case | ours (median) | torch (median) | ratio ours/torch | target |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
