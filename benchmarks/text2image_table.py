"""Does the text-to-image GAN follow the text, or only the phrasings it was trained on?

Loads the run in ``--run`` (default ``runs/text2image``; trained first with the registry's
defaults, seed 0, when no finished run is there) and draws ``--samples`` images per row,
sample i from a caption of digit i mod 10 (captions drawn with seed ``--seed``):

* "training": captions from the 8 training templates (the train split's phrasings);
* "held out": captions from the 5 held-out templates, never used for a training
  caption (the test split's phrasings); then each held-out template alone.

Columns: "encoder" is how often the pre-trained text encoder's class head reads the
intended digit from the caption (text understanding alone); "accuracy" is the digit
judge's agreement with the intended digit on the generated images (the digit drawn
follows the caption); FD (lower is better) and KID against the 300 test digits in the
judge's feature space; the floor row gives real training digits' figures (the accuracy
floor is the judge's accuracy on the test digits).

    python benchmarks/text2image_table.py [--run runs/text2image] [--samples 1000]
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before NumPy loads BLAS: one thread

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from minigen.checkpoint import load_model  # noqa: E402
from minigen.data.captions import (  # noqa: E402
    HELD_OUT_TEMPLATES,
    TRAINING_TEMPLATES,
    encode_captions,
    make_captions,
)
from minigen.quality import sample_quality  # noqa: E402
from minigen.train import METRICS_FILE, train  # noqa: E402

DATA = "digits-captions"


def _model(run: Path):
    if not (run / METRICS_FILE).exists():
        started = time.process_time()
        train("text2image", seed=0, out_dir=run, progress=False)
        print(f"trained text2image into {run}: {time.process_time() - started:.0f} CPU s")
    model, _, _ = load_model(run)
    return model


def _row(model, name: str, templates: tuple[str, ...], n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    tokens = encode_captions(make_captions(labels, rng, templates))
    samples = model.sample(n, rng, text=tokens)
    quality = sample_quality(samples, DATA, labels=labels, rng=rng)
    return {"name": name, "templates": len(templates),
            "encoder": float(np.mean(model.read_classes(tokens) == labels)),
            "accuracy": quality["conditional_accuracy"], "fd": quality["fd"],
            "kid": quality["kid"], "floor": quality}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/text2image", type=Path)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    model = _model(args.run)
    rows = [_row(model, "training phrasings", TRAINING_TEMPLATES, args.samples, args.seed),
            _row(model, "held-out phrasings", HELD_OUT_TEMPLATES, args.samples, args.seed)]
    rows += [_row(model, f"  held out: {template!r}", (template,), args.samples, args.seed)
             for template in HELD_OUT_TEMPLATES]
    print(f"text2image ({args.run}), {args.samples} samples per row, sample i of digit i mod 10")
    print()
    print("| captions | templates | encoder reads the digit | judge accuracy | FD | KID |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['name']} | {row['templates']} | {row['encoder']:.3f} | "
              f"{row['accuracy']:.3f} | {row['fd']:.1f} | {row['kid']:.2f} |")
    floor = rows[0]["floor"]
    print(f"| real digits (floor) | | | {floor['conditional_accuracy_floor']:.3f} | "
          f"{floor['fd_floor']:.1f} | {floor['kid_floor']:.2f} |")


if __name__ == "__main__":
    main()
