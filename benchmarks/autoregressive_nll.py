"""Exact test NLL of the explicit-density models on binarised digits (a table, not a test).

Every model is trained with its registry defaults (the same settings `minigen train NAME`
uses, seed 0) and evaluated on the fixed 300-image test split. The NLL is exact (nats per
8×8 image): each model's log_prob is a product of normalised conditionals. The papers'
ordering is pixel models < MADE/NADE < FVSBN < independent pixels.

    python benchmarks/autoregressive_nll.py [--models nade made ...] [--epochs-scale 1.0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

# run from anywhere: the repository's own minigen, not whichever one is installed
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minigen.models.registry import get_spec  # noqa: E402
from minigen.train import train  # noqa: E402

DEFAULT_MODELS = (
    "independent-bernoulli",
    "markov-chain",
    "fvsbn",
    "nade",
    "made",
    "pixelcnn",
    "gated_pixelcnn",
    "row_lstm",
    "diagonal_bilstm",
)


def run(name: str, epochs_scale: float) -> dict:
    spec = get_spec(name)
    epochs = max(1, round(spec.epochs * epochs_scale))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(name, epochs=epochs, seed=0, out_dir=run_dir, progress=False)
    seconds = time.perf_counter() - start
    metrics = result.metrics
    extra = {k: v for k, v in metrics.items() if "nll" in k and k != "nll"}
    return {
        "model": name,
        "nll": metrics.get("nll", float("nan")),
        "bits_per_dim": metrics.get("bits_per_dim", float("nan")),
        "extra": ", ".join(f"{k} {v:.2f}" for k, v in sorted(extra.items())),
        "epochs": epochs,
        "seconds": seconds,
        "parameters": int(metrics.get("num_free_parameters", metrics.get("num_parameters", 0))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS))
    parser.add_argument("--epochs-scale", type=float, default=1.0,
                        help="multiply every model's default epochs (e.g. 0.2 for a quick look)")
    args = parser.parse_args()
    rows = []
    for name in args.models:
        rows.append(run(name, args.epochs_scale))
        row = rows[-1]
        print(f"# {name}: {row['nll']:.2f} nats in {row['seconds']:.0f} s", flush=True)
    print()
    print("| model | test NLL (nats/image) | bits/dim | other | epochs | train s | parameters |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for row in sorted(rows, key=lambda r: r["nll"]):
        print(f"| {row['model']} | {row['nll']:.2f} | {row['bits_per_dim']:.3f} | "
              f"{row['extra']} | {row['epochs']} | {row['seconds']:.1f} | "
              f"{row['parameters']:,} |")


if __name__ == "__main__":
    main()
