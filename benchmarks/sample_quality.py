"""Sample quality of every registered model that samples, judged the same way (a table).

Each model is trained with its registry defaults (seed 0) through ``minigen.train.train``,
or reloaded from ``--runs-dir/<model>`` when a finished run is there; N samples are drawn
(seed 1), mapped into the judge's input (``minigen.quality.to_judge_input``) and scored by
``minigen.quality.sample_quality`` against the 300 test digits in the judge's feature
space. Floor rows give the same figures for N real training digits, once per judge.
Models on data without a judge (bars and stripes, moons, ...) are listed as skipped.

Columns: NLL is the exact test NLL in nats where the model has one, otherwise "≤" the
negated IWAE or ELBO bound (nats on the model's own data view: binary, [0, 1] or a
density, so compare within a data column). FD and KID lower is better; precision,
recall, coverage higher; class KL (KL of the predicted-class histogram to uniform)
lower, towards the floor, and for conditional models "acc", the judge's agreement with the
requested digit; for 2-D data the last figure is modes captured out of K. A conditional
model's NLL is −log p(x | y).
CPU s is the process time of ``train`` (one BLAS thread), its per-epoch test evaluation
included. † marks a binary model whose ``sample`` returns Bernoulli means (the VAE
family): the table scores x ~ Bernoulli(means), drawn here, since the binary judge takes
only 0/1 images.

    python benchmarks/sample_quality.py [--models vae nade ...] [--samples 1000] [--quick]
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before NumPy loads BLAS: one thread, steady times

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from autograd import no_grad  # noqa: E402
from minigen.data import get_dataset  # noqa: E402
from minigen.models.registry import REGISTRY, ModelSpec, build, get_spec  # noqa: E402
from minigen.quality import JUDGE_INPUTS, QUALITY_DATA, sample_quality  # noqa: E402
from minigen.train import train  # noqa: E402

QUICK_EPOCHS_SCALE = 0.2
CPU_SECONDS_FILE = "train_cpu_seconds.json"
SAMPLE_SEED = 1
FLOOR_SEED = 2


def trained_model(name: str, run_dir: Path, epochs: int) -> tuple[Any, dict[str, float], float]:
    """Train ``name`` into ``run_dir``, or reload the finished run found there.

    The one place that talks to the trainer: adapt it here when its API changes.

    Returns
    -------
    model, its final test metrics, training CPU seconds (NaN if a reused run lacks them)
    """
    seconds_file = run_dir / CPU_SECONDS_FILE
    if seconds_file.exists():
        result = train(name, out_dir=run_dir, resume=True, epochs=epochs, progress=False)
        return result.model, result.metrics, json.loads(seconds_file.read_text())["seconds"]
    start = time.process_time()
    result = train(name, out_dir=run_dir, epochs=epochs, seed=0, progress=False)
    seconds = time.process_time() - start
    seconds_file.write_text(json.dumps({"seconds": seconds, "epochs": epochs}))
    return result.model, result.metrics, seconds


def samples_at_all(spec: ModelSpec) -> bool:
    """False for registered models whose ``sample`` raises NotImplementedError (autoencoders),
    found on an untrained copy so they are not trained for nothing."""
    data_shape = get_dataset(spec.data, "test")[0].shape[1:]
    overrides = {"num_classes": 10} if spec.conditional else {}
    model = build(spec.name, data_shape, np.random.default_rng(0), **overrides)
    try:
        draw_samples(model, 2, spec.conditional, np.random.default_rng(0))
    except NotImplementedError:
        return False
    return True


def draw_samples(model: Any, num_samples: int, conditional: bool,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """N samples in the model's data space; conditional models get digits 0..9 in turn."""
    model.eval()
    labels = np.arange(num_samples, dtype=np.int64) % 10 if conditional else None
    with no_grad():
        if labels is None:
            return np.asarray(model.sample(num_samples, rng)), None
        return np.asarray(model.sample(num_samples, rng, y=labels)), labels


def binary_draws(samples: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Samples of a binary model as 0/1 images; True when they were Bernoulli means."""
    if np.isin(samples, (0.0, 1.0)).all():
        return samples, False
    return (rng.random(samples.shape) < samples).astype(np.float32), True


def likelihood_cell(metrics: dict[str, float]) -> str:
    if "nll" in metrics:
        return f"{metrics['nll']:.1f}"
    bounds = sorted(key for key in metrics if key.startswith("iwae_")) or (
        ["elbo"] if "elbo" in metrics else [])
    if bounds:
        return f"≤ {-metrics[bounds[0]]:.1f}"
    return "–"


def quality_cells(quality: dict[str, float], suffix: str = "") -> list[str]:
    if "modes_captured" in quality:
        return ["–"] * 5 + [f"{quality['modes_captured' + suffix]:.0f} modes"]
    keys = ("fd", "kid", "precision", "recall", "coverage", "class_kl")
    formats = ("{:.2f}", "{:.4f}", "{:.3f}", "{:.3f}", "{:.3f}", "{:.3f}")
    cells = [fmt.format(quality[key + suffix]) for key, fmt in zip(keys, formats)]
    if "conditional_accuracy" in quality:  # the judge agrees with the requested digit
        cells[-1] += f" (acc {quality['conditional_accuracy' + suffix]:.2f})"
    return cells


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(REGISTRY),
                        help="registry names (default: every registered model)")
    parser.add_argument("--samples", type=int, default=1000, help="samples per model")
    parser.add_argument("--quick", action="store_true",
                        help=f"train {QUICK_EPOCHS_SCALE:g}× the default epochs (own run dirs)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs") / "sample_quality",
                        help="where runs are kept and reused")
    args = parser.parse_args()
    scale = QUICK_EPOCHS_SCALE if args.quick else 1.0
    runs_dir = args.runs_dir / ("quick" if args.quick else "full")

    header = ["model", "data", "NLL (nats)", "FD ↓", "KID ↓", "precision ↑", "recall ↑",
              "coverage ↑", "class KL ↓ / modes ↑", "train CPU s"]
    rows, floors, skipped = [], {}, []
    for name in args.models:
        spec = get_spec(name)
        if spec.data not in QUALITY_DATA:
            skipped.append(f"{name} (no judge for {spec.data})")
            continue
        if not samples_at_all(spec):
            skipped.append(f"{name} (does not sample)")
            continue
        epochs = max(1, round(spec.epochs * scale))
        model, metrics, seconds = trained_model(name, runs_dir / name, epochs)
        rng = np.random.default_rng(SAMPLE_SEED)
        samples, labels = draw_samples(model, args.samples, spec.conditional, rng)
        were_means = False
        if spec.data == "digits-binary":
            samples, were_means = binary_draws(samples, rng)
        quality = sample_quality(samples, spec.data, labels=labels,
                                 rng=np.random.default_rng(FLOOR_SEED))
        judge = JUDGE_INPUTS[spec.data][0] if spec.data in JUDGE_INPUTS else spec.data
        floors.setdefault(judge, quality)
        rows.append([name + " †" * were_means, spec.data, likelihood_cell(metrics),
                     *quality_cells(quality),
                     f"{seconds:.1f}"])
        print(f"done: {name}", flush=True)
    for judge, quality in floors.items():
        rows.append([f"**floor: real {judge}**", judge, "–",
                     *quality_cells(quality, "_floor"), "–"])
    print()
    print(f"{args.samples} samples per model; epochs × {scale:g}; floors: {args.samples} "
          "real training digits (2-D: fresh draws of the mixture) against the test split")
    print()
    print(markdown_table(header, rows))
    if skipped:
        print("\nskipped: " + ", ".join(skipped))


if __name__ == "__main__":
    main()
