"""Diffusion on the 8×8 digits: steps against quality, guidance against diversity, the bound.

Runs are the registry's defaults trained by ``minigen.train.train`` (seed 0), or existing
run directories given with ``--ddpm RUN``, ``--cfg RUN``, ``--cg RUN``. Tables:

* **steps**: the DDPM run sampled by DDPM (ancestral, β̃) on 1000, 250 and 100 respaced
  steps and by DDIM (η = 0) on 100, 50, 20 and 10 steps; CPU seconds per 1,000 samples
  (``time.process_time``, one BLAS thread) and the quality columns;
* **guidance**: classifier-free (w) and classifier (s) guidance at 0, 0.5, 1, 2, 4 (DDIM
  50 steps), ``--n`` samples spread over the 10 classes: class accuracy (fidelity) and
  within-class diversity;
* **bound**: the variational bound L ≥ −log p(x) of the DDPM run on the dequantised test
  digits (u ~ U[0, 1), (g + u) / 17 ∈ [0, 1]), in nats per image on [0, 1]^64 — the units of
  RNADE's and PPCA's densities — and bits per dimension. The model sees 2x − 1, so
  L_[0,1] = L_[−1,1] − 64 log 2 (the Jacobian of x ↦ 2x − 1);
* **toy**: DDPM (the MLP denoiser) on "ring" (8 modes) and "grid" (25 modes), 2,000
  samples, the PacGAN protocol (Lin et al., 2018): a sample is high quality within 3σ
  (σ = 0.02) of its nearest mode; a mode is covered with ≥ 20 high-quality samples;
  KL(mode histogram ‖ uniform) in nats.

Quality columns come from :func:`sample_quality`: the shared judge
(``minigen.quality.sample_quality``: FD, KID, precision, recall, coverage and, for guided
samples, ``conditional_accuracy`` in a digit classifier's features, against the 300 test
digits), plus two figures in pixel space: ``pixel_fd`` (Fréchet distance between
Gaussians fitted to the 64 pixels of samples and of the test digits) and ``diversity``
(mean pairwise distance of samples within a class divided by the test digits' own, the
within-class spread that guidance trades away).

    python benchmarks/diffusion_bench.py [--n 1000] [--tables steps,guidance,bound,toy]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # before NumPy loads BLAS: CPU seconds of one thread

import numpy as np  # noqa: E402
from scipy import linalg  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minigen.checkpoint import load_model  # noqa: E402
from minigen.data import assign_to_centers, get_dataset, grid_centers, ring_centers  # noqa: E402
from minigen.quality import sample_quality as judge  # noqa: E402
from minigen.train import train  # noqa: E402

DIGITS = "digits-signed"
GUIDANCE = (0.0, 0.5, 1.0, 2.0, 4.0)
STEPS = (("ddpm", 1000), ("ddpm", 250), ("ddpm", 100), ("ddim", 100), ("ddim", 50),
         ("ddim", 20), ("ddim", 10))


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def _frechet(a: np.ndarray, b: np.ndarray) -> float:
    """‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½); 1e-6 I added to both covariances
    because some border pixels of the digits are always off (a singular Σ)."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    ridge = 1e-6 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def _mean_pairwise(x: np.ndarray) -> float:
    distances = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    return float(distances.sum() / max(len(x) * (len(x) - 1), 1))


def sample_quality(samples: np.ndarray, requested: np.ndarray | None = None,
                   seed: int = 0) -> dict[str, float]:
    """The quality columns of every table: the judge's figures and the pixel-space ones."""
    _, y_test = get_dataset(DIGITS, "test")
    x_test, _ = get_dataset(DIGITS, "test")
    flat, test_flat = _flat(samples), _flat(x_test)
    figures = judge(np.asarray(samples, dtype=np.float64), DIGITS, labels=requested,
                    rng=np.random.default_rng(seed))
    figures["pixel_fd"] = _frechet(flat, test_flat)
    if requested is not None:
        ratios = [_mean_pairwise(flat[requested == k]) / _mean_pairwise(test_flat[y_test == k])
                  for k in np.unique(requested) if (requested == k).sum() > 1]
        figures["diversity"] = float(np.mean(ratios))
    return figures


def _run(name: str, given: str | None, seed: int) -> tuple[object, float | None]:
    """(model, training CPU seconds or None when loaded from ``given``)."""
    if given:
        model, _, _ = load_model(given)
        return model, None
    start = time.process_time()
    result = train(name, seed=seed, out_dir=tempfile.mkdtemp(prefix=f"bench-{name}-"),
                   progress=False)
    return result.model, time.process_time() - start


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def steps_table(model: object, n: int, seed: int) -> str:
    rows = []
    for sampler, steps in STEPS:
        start = time.process_time()
        samples = model.sample(n, np.random.default_rng(seed), sampler=sampler, steps=steps)
        per_thousand = (time.process_time() - start) * 1000 / n
        quality = sample_quality(samples, seed=seed)
        rows.append([sampler.upper(), str(steps), f"{per_thousand:.0f}",
                     *(f"{quality[key]:.3g}" for key in ("fd", "kid", "precision", "recall",
                                                         "coverage", "pixel_fd"))])
        print(rows[-1], flush=True)
    floors = [f"{quality[key + '_floor']:.3g}" for key in ("fd", "kid", "precision", "recall",
                                                           "coverage")]
    rows.append(["real digits (floor)", "", "", *floors, ""])
    return _table(["sampler", "steps", "CPU s / 1000", "FD", "KID", "precision", "recall",
                   "coverage", "pixel_fd"], rows)


def guidance_table(models: dict[str, object], n: int, seed: int) -> str:
    requested = np.arange(n) % 10
    rows = []
    for label, model in models.items():
        for weight in GUIDANCE:
            start = time.process_time()
            samples = model.sample(n, np.random.default_rng(seed), y=requested, guidance=weight,
                                   sampler="ddim", steps=50)
            seconds = time.process_time() - start
            quality = sample_quality(samples, requested, seed)
            rows.append([label, f"{weight:g}",
                         *(f"{quality[key]:.3g}" for key in (
                             "conditional_accuracy", "diversity", "recall", "coverage",
                             "precision", "fd")),
                         f"{seconds * 1000 / n:.0f}"])
            print(rows[-1], flush=True)
    return _table(["guidance", "w or s", "class accuracy (judge)", "diversity", "recall",
                   "coverage", "precision", "FD", "CPU s / 1000"], rows)


def bound_table(model: object, seed: int) -> str:
    rng = np.random.default_rng(seed)
    x_unit, _ = get_dataset("digits-dequantized", "test", rng=np.random.default_rng(seed))
    dims = int(np.prod(x_unit.shape[1:]))
    start = time.process_time()
    bound_signed = model.nll_bound(2 * x_unit.astype(np.float64) - 1, rng)
    seconds = time.process_time() - start
    bound_unit = bound_signed - dims * np.log(2)  # −log p_[0,1](x) = −log p_[−1,1](2x−1) − D log 2
    mean = bound_unit.mean()
    error = bound_unit.std() / np.sqrt(len(bound_unit))
    return _table(["model", "bound (nats / image, [0,1]^64)", "± s.e.", "bits / dim", "CPU s"],
                  [["ddpm", f"{mean:.1f}", f"{error:.1f}", f"{mean / (dims * np.log(2)):.3f}",
                    f"{seconds:.0f}"]])


def toy_table(runs: dict[str, str | None], seed: int, n: int = 2000) -> str:
    rows = []
    for data, centres in (("ring", ring_centers()), ("grid", grid_centers())):
        if runs.get(data):
            model, _, _ = load_model(runs[data])
            seconds = None
        else:
            start = time.process_time()
            model = train("ddpm", data=data, seed=seed, progress=False,
                          out_dir=tempfile.mkdtemp(prefix=f"bench-ddpm-{data}-")).model
            seconds = time.process_time() - start
        samples = model.sample(n, np.random.default_rng(seed)).astype(np.float64)
        nearest = assign_to_centers(samples, centres)
        distance = np.sqrt(((samples - centres[nearest]) ** 2).sum(1))
        good = distance < 3 * 0.02
        counts = np.bincount(nearest[good], minlength=len(centres))
        share = counts / max(counts.sum(), 1)
        kl = float(np.sum(np.where(share > 0, share * np.log(share * len(centres)), 0.0)))
        rows.append([data, f"{(counts >= 20).sum()} / {len(centres)}", f"{good.mean():.3f}",
                     f"{kl:.3f}", "loaded" if seconds is None else f"{seconds:.0f}"])
        print(rows[-1], flush=True)
    return _table(["data", "modes covered", "high-quality fraction", "KL to uniform",
                   "train CPU s"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="samples per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", default="steps,guidance,bound")
    parser.add_argument("--ddpm", help="existing ddpm run directory")
    parser.add_argument("--cfg", help="existing classifier_free_guidance run directory")
    parser.add_argument("--cg", help="existing classifier_guidance run directory")
    parser.add_argument("--ring", help="existing ddpm run directory on 'ring'")
    parser.add_argument("--grid", help="existing ddpm run directory on 'grid'")
    args = parser.parse_args()
    tables = args.tables.split(",")
    if "steps" in tables or "bound" in tables:
        ddpm, seconds = _run("ddpm", args.ddpm, args.seed)
        if seconds is not None:
            print(f"ddpm trained in {seconds:.0f} CPU s")
        if "steps" in tables:
            print(steps_table(ddpm, args.n, args.seed))
        if "bound" in tables:
            print(bound_table(ddpm, args.seed))
    if "guidance" in tables:
        guided = {}
        for label, name, given in (("classifier-free", "classifier_free_guidance", args.cfg),
                                   ("classifier", "classifier_guidance", args.cg)):
            model, seconds = _run(name, given, args.seed)
            if seconds is not None:
                print(f"{name} trained in {seconds:.0f} CPU s")
            guided[label] = model
        print(guidance_table(guided, args.n, args.seed))
    if "toy" in tables:
        print(toy_table({"ring": args.ring, "grid": args.grid}, args.seed))


if __name__ == "__main__":
    main()
