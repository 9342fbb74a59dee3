"""GANs: the PacGAN/VEEGAN mode-coverage protocol on 2-D toys, and the digits table.

toy — the protocol of Srivastava et al. (2017, VEEGAN, Table 1) and Lin et al. (2018,
PacGAN, Table 2), as issue 10 defines it:

* ring-8: 8 Gaussians on a circle of radius 1, σ = 0.01 (the papers' radius 2, σ = 0.02,
  halved: the protocol is scale-free, since quality is measured in units of σ);
* grid-25: 25 Gaussians at {−4, −2, 0, 2, 4}², σ = 0.05;
* each model draws 2,500 samples; a sample is high quality within 3σ of its nearest mode;
  a mode is captured with at least one high-quality sample (``minigen.quality.modes``).
  Reported: modes captured (mean ± sd over seeds), the percentage of high-quality
  samples and the KL of the high-quality samples' mode histogram to uniform (lower is
  better; seeds without a high-quality sample are left out of its mean).

Models: ``gan`` with latent 2, an MLP generator 2-128-128-128-2 (linear output) and
discriminator 2m-128-128-1; "GAN" (non-saturating), "WGAN-GP" (λ = 10, n_critic = 5) and
"PacGAN-2" (the GAN with pack = 2). Each trains ``--steps`` generator steps on fresh
batches of 100 from the mixture, Adam β = (0.5, 0.999), lr 10⁻³ annealed to 0 on a half
cosine (without the annealing no model puts samples within 3σ = 0.03 of a ring mode in a
few thousand steps: they keep circling the modes).

digits — ``gan``, ``dcgan``, ``cgan``, ``infogan`` trained with their registry defaults on
"digits-signed" (direct calls of ``train_step``; CPU seconds of training only), then:

* sample quality through one function, :func:`digit_quality` =
  ``minigen.quality.sample_quality`` (the shared digit judge's feature space: FD, KID,
  precision/recall k = 3, density/coverage k = 5, class KL, each with its real-data floor);
* cGAN: the judge's accuracy on samples drawn for each class (1,000, 100 per class);
* InfoGAN: the categorical code's cluster accuracy on the real test digits (Q's most
  likely category, Hungarian matching with ``scipy.optimize.linear_sum_assignment``).

    python benchmarks/gan_bench.py toy [--seeds 5] [--steps 2000] [--toys ring-8 grid-25]
                                       [--figures DIR]
    python benchmarks/gan_bench.py digits [--figures DIR]

Figures (``benchmarks/gan_figures.py``) go to ``--figures`` (default runs/gan-figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gan_figures  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402

from minigen.data import MODE_PROTOCOL_MIXTURES, get_dataset, isotropic_mixture  # noqa: E402
from minigen.models.adversarial.gan import GAN  # noqa: E402
from minigen.models.base import PlayerSettings  # noqa: E402
from minigen.models.registry import build, get_spec  # noqa: E402
from minigen.optim import CosineAnnealingLR  # noqa: E402
from minigen.quality import sample_quality  # noqa: E402
from minigen.quality.judge import judge_outputs, load_judge, to_judge_input  # noqa: E402
from minigen.quality.modes import mode_statistics  # noqa: E402

TOYS = {"ring-8": MODE_PROTOCOL_MIXTURES["ring-pacgan"],
        "grid-25": MODE_PROTOCOL_MIXTURES["grid-pacgan"]}
ANCHORS = {  # VEEGAN Table 1 / PacGAN Table 2: (modes, % high quality)
    ("ring-8", "GAN"): "1.0 / 99.3%", ("grid-25", "GAN"): "3.3 / 0.5%",
    ("ring-8", "PacGAN-2"): "7.9 / 95.6%", ("grid-25", "PacGAN-2"): "23.8 / 91.3%",
    ("ring-8", "WGAN-GP"): "—", ("grid-25", "WGAN-GP"): "—",
}
VARIANTS = {  # name: (GAN hyper-parameters, discriminator steps)
    "GAN": ({"loss": "non_saturating"}, 1),
    "WGAN-GP": ({"loss": "wasserstein", "gradient_penalty_weight": 10.0}, 5),
    "PacGAN-2": ({"loss": "non_saturating", "pack": 2}, 1),
}
BETAS = (0.5, 0.999)
KEYS = ("fd", "kid", "precision", "recall", "density", "coverage", "class_kl")
NUM_SAMPLES = 2500


# ----- toy ----------------------------------------------------------------------------
def train_toy(toy: str, variant: str, seed: int, steps: int) -> tuple[GAN, float]:
    centers, std = TOYS[toy].centers, TOYS[toy].std
    hparams, critic_steps = VARIANTS[variant]
    model = GAN((2,), rng=np.random.default_rng(seed), latent_dim=2, hidden=(128, 128, 128),
                discriminator_hidden=(128, 128), output="linear", **hparams)
    model.build_optimizers(1e-3, {"generator": PlayerSettings(betas=BETAS),
                                  "discriminator": PlayerSettings(betas=BETAS,
                                                                  steps=critic_steps)})
    schedules = [CosineAnnealingLR(optimizer, steps) for optimizer in model.optimizers().values()]
    rng = np.random.default_rng(1000 + seed)
    start = time.process_time()
    for _ in range(steps):
        model.train_step(isotropic_mixture(100, rng, centers, std)[0], rng)
        for schedule in schedules:
            schedule.step()
    return model, time.process_time() - start


def run_toy(toys: list[str], seeds: int, steps: int, figures: str) -> None:
    print(f"PacGAN/VEEGAN protocol: {seeds} seeds, {steps} generator steps of batch 100, "
          f"{NUM_SAMPLES} samples scored\n")
    print("| data | model | modes (mean ± sd) | % high quality | KL to uniform | CPU s / run "
          "| published (modes / % HQ) |")
    print("|---|---|---|---|---|---|---|")
    for toy in toys:
        mixture = TOYS[toy]
        centers, std = mixture.centers, mixture.std
        for variant in VARIANTS:
            scores, seconds = [], []
            for seed in range(seeds):
                model, cpu = train_toy(toy, variant, seed, steps)
                samples = model.sample(NUM_SAMPLES, np.random.default_rng(seed))
                scores.append(mode_statistics(samples, mixture))
                seconds.append(cpu)
                if seed == 0:
                    data = isotropic_mixture(NUM_SAMPLES, np.random.default_rng(0), centers,
                                             std)[0]
                    gan_figures.toy_panel(model, samples, data,
                                          os.path.join(figures, f"toy-{toy}-{variant}.png"),
                                          f"{variant} on {toy}")
            modes = np.array([s["modes_captured"] for s in scores])
            quality = 100 * np.mean([s["high_quality_fraction"] for s in scores])
            finite = [s["mode_kl"] for s in scores if np.isfinite(s["mode_kl"])]
            kl = np.mean(finite) if finite else float("inf")
            print(f"| {toy} | {variant} | {modes.mean():.1f} ± {modes.std(ddof=1):.1f} "
                  f"/ {len(centers)} | {quality:.1f} | {kl:.2f} | {np.mean(seconds):.0f} "
                  f"| {ANCHORS[(toy, variant)]} |", flush=True)


# ----- digits --------------------------------------------------------------------------
def digit_quality(samples: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """Sample quality of digits in [−1, 1] against the test split, with floors
    (``minigen.quality.sample_quality``)."""
    return sample_quality(samples, "digits-signed", labels=labels, rng=np.random.default_rng(0))


def judge_classes(samples: np.ndarray) -> np.ndarray:
    """The shared digit judge's most likely class of each sample in [−1, 1]."""
    images, judge_name = to_judge_input(samples, "digits-signed")
    return judge_outputs(load_judge(judge_name), images)[1].argmax(axis=1)


def cluster_accuracy(labels: np.ndarray, clusters: np.ndarray, k: int = 10) -> float:
    """Accuracy under the best one-to-one map of clusters to labels (Hungarian matching)."""
    table = np.zeros((k, k), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    rows, columns = linear_sum_assignment(-table)
    return float(table[rows, columns].sum() / len(labels))


def train_registered(name: str, seed: int = 0) -> tuple[Any, float]:
    """Train registry model ``name`` with its defaults by direct ``train_step`` calls."""
    spec = get_spec(name)
    x, y = get_dataset(spec.data, "train")
    conditional = "y" in spec.model_class().conditions
    extra = {"num_classes": 10} if conditional else {}
    model = build(name, x.shape[1:], np.random.default_rng(seed), **extra)
    model.build_optimizers(spec.lr, spec.players)
    rng = np.random.default_rng(seed + 1)
    start = time.process_time()
    for _ in range(spec.epochs):
        order = rng.permutation(len(x))
        for first in range(0, len(x), spec.batch_size):
            index = order[first:first + spec.batch_size]
            model.train_step(x[index], rng, **({"y": y[index]} if conditional else {}))
    return model, time.process_time() - start


def run_digits(figures: str) -> None:
    rows = []
    for name in ("gan", "dcgan", "cgan", "infogan"):
        model, cpu = train_registered(name)
        model.eval()
        rng = np.random.default_rng(7)
        labels = np.arange(1000) % 10
        conditional = "y" in model.conditions
        samples = model.sample(1000, rng, **({"y": labels} if conditional else {}))
        quality = digit_quality(samples, labels if conditional else None)
        extra = ""
        if conditional:
            extra = (f"judge's class accuracy {100 * quality['conditional_accuracy']:.1f}% "
                     f"(floor {100 * quality['conditional_accuracy_floor']:.1f}%)")
            gan_figures.class_rows(model, os.path.join(figures, "cgan-classes.png"))
        if name == "infogan":
            x_test, y_test = get_dataset("digits-signed", "test")
            clusters, _ = model.infer_codes(x_test)
            by_code = model.sample_with_codes(labels, rng.uniform(-1, 1, (1000, 2)), rng)
            by_judge = cluster_accuracy(judge_classes(by_code), labels)
            extra = (f"cluster accuracy {100 * cluster_accuracy(y_test, clusters):.1f}% "
                     f"(judge's classes of samples by c₁: {100 * by_judge:.1f}%)")
            gan_figures.infogan_figures(model, figures)
        gan_figures.sample_grid(samples[:100], os.path.join(figures, f"{name}-samples.png"),
                                name)
        rows.append((name, quality, cpu, extra))
        print(f"trained {name} in {cpu:.0f} CPU s; {extra}", flush=True)
    floor = rows[0][1]
    rows.insert(0, ("real (floor)", {key: floor[f"{key}_floor"] for key in KEYS}, 0.0, ""))
    print("\n| model | FD ↓ | KID ↓ | precision ↑ | recall ↑ | density (≈1) | coverage ↑ "
          "| class KL ↓ | train CPU s | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, q, cpu, extra in rows:
        print(f"| {name} | " + " | ".join(f"{q[key]:.3g}" for key in KEYS)
              + f" | {cpu:.0f} | {extra} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=("toy", "digits"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--toys", nargs="+", choices=tuple(TOYS), default=list(TOYS))
    parser.add_argument("--figures", default=os.path.join("runs", "gan-figures"))
    args = parser.parse_args()
    os.makedirs(args.figures, exist_ok=True)
    if args.table == "toy":
        run_toy(args.toys, args.seeds, args.steps, args.figures)
    else:
        run_digits(args.figures)


if __name__ == "__main__":
    main()
