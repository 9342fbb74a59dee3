"""GANs: the PacGAN/VEEGAN mode-coverage protocol on 2-D toys, and the digits table.

toy — the protocol of Srivastava et al. (2017, VEEGAN, Table 1) and Lin et al. (2018,
PacGAN, Table 2), as issue 10 defines it:

* ring-8: 8 Gaussians on a circle of radius 1, σ = 0.01 (the papers' radius 2, σ = 0.02,
  halved: the protocol is scale-free, since quality is measured in units of σ);
* grid-25: 25 Gaussians at {−4, −2, 0, 2, 4}², σ = 0.05;
* each model draws 2,500 samples; a sample is high quality within 3σ of its nearest mode;
  a mode is captured with at least one high-quality sample. Reported: modes captured
  (mean ± sd over seeds), the percentage of high-quality samples and the KL of the
  high-quality samples' mode histogram to uniform (lower is better).

Models: ``gan`` with latent 2, an MLP generator 2-128-128-128-2 (linear output) and
discriminator 2m-128-128-1; "GAN" (non-saturating), "WGAN-GP" (λ = 10, n_critic = 5) and
"PacGAN-2" (the GAN with pack = 2). Each trains ``--steps`` generator steps on fresh
batches of 100 from the mixture, Adam β = (0.5, 0.999), lr 10⁻³ annealed to 0 on a half
cosine (without the annealing no model puts samples within 3σ = 0.03 of a ring mode in a
few thousand steps: they keep circling the modes).

digits — ``gan``, ``dcgan``, ``cgan``, ``infogan`` trained with their registry defaults on
"digits-signed" (direct calls of ``train_step``; CPU seconds of training only), then:

* sample quality through one function, :func:`digit_quality`: until ``minigen.quality``
  lands it is a local stand-in (a 64-128-10 MLP judge trained here on the training split,
  its 128 hidden units as the feature space; Fréchet distance, KID ×10³, precision/recall
  with k = 3, density/coverage with k = 5, against the test split), with the same
  figures for the real training split against the test split as the floor;
* cGAN: the judge's accuracy on samples drawn for each class;
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
from scipy.linalg import sqrtm  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402

import autograd as ag  # noqa: E402
from minigen.data import get_dataset, grid_centers, isotropic_mixture, ring_centers  # noqa: E402
from minigen.models.adversarial.gan import GAN  # noqa: E402
from minigen.models.base import PlayerSettings  # noqa: E402
from minigen.models.registry import build, get_spec  # noqa: E402
from minigen.nn import Linear, ReLU, Sequential  # noqa: E402
from minigen.optim import Adam, CosineAnnealingLR  # noqa: E402

TOYS = {"ring-8": (ring_centers(8, 1.0), 0.01), "grid-25": (grid_centers(5, 2.0), 0.05)}
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
NUM_SAMPLES = 2500


# ----- toy: the scorer (local until minigen/quality/modes.py lands) -----------------------
def toy_modes(samples: np.ndarray, centers: np.ndarray, std: float) -> dict[str, float]:
    """Modes captured, % high-quality samples and KL(mode histogram ‖ uniform).

    samples : (N, 2); centers : (K, 2). High quality: within 3σ of the nearest centre.
    """
    distances = np.linalg.norm(samples[:, None, :] - centers[None], axis=2)
    nearest, closest = distances.argmin(axis=1), distances.min(axis=1)
    high_quality = closest <= 3 * std
    counts = np.bincount(nearest[high_quality], minlength=len(centers))
    histogram = counts / max(counts.sum(), 1)
    present = histogram > 0
    kl = float(np.sum(histogram[present] * np.log(histogram[present] * len(centers))))
    return {"modes": int((counts >= 1).sum()), "high_quality": 100 * float(high_quality.mean()),
            "kl": kl if counts.sum() else float("nan")}


def train_toy(toy: str, variant: str, seed: int, steps: int) -> tuple[GAN, float]:
    centers, std = TOYS[toy]
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
        centers, std = TOYS[toy]
        for variant in VARIANTS:
            scores, seconds = [], []
            for seed in range(seeds):
                model, cpu = train_toy(toy, variant, seed, steps)
                samples = model.sample(NUM_SAMPLES, np.random.default_rng(seed))
                scores.append(toy_modes(samples, centers, std))
                seconds.append(cpu)
                if seed == 0:
                    data = isotropic_mixture(NUM_SAMPLES, np.random.default_rng(0), centers,
                                             std)[0]
                    gan_figures.toy_panel(model, samples, data,
                                          os.path.join(figures, f"toy-{toy}-{variant}.png"),
                                          f"{variant} on {toy}")
            modes = np.array([s["modes"] for s in scores], dtype=float)
            quality = np.mean([s["high_quality"] for s in scores])
            kl = np.nanmean([s["kl"] for s in scores])
            print(f"| {toy} | {variant} | {modes.mean():.1f} ± {modes.std(ddof=1):.1f} "
                  f"/ {len(centers)} | {quality:.1f} | {kl:.2f} | {np.mean(seconds):.0f} "
                  f"| {ANCHORS[(toy, variant)]} |", flush=True)


# ----- digits: a local judge (until minigen.quality lands) ----------------------------
class LocalJudge:
    """A 64-128-10 ReLU MLP on "digits-signed", trained here (seed 0, 40 epochs)."""

    def __init__(self) -> None:
        x, y = get_dataset("digits-signed", "train")
        x_test, y_test = get_dataset("digits-signed", "test")
        rng = np.random.default_rng(0)
        self.body = Sequential(Linear(64, 128, rng=rng), ReLU())
        self.out = Linear(128, 10, rng=rng)
        optimizer = Adam(self.body.parameters() + self.out.parameters(), lr=1e-3)
        flat = x.reshape(len(x), -1)
        for _ in range(40):
            order = rng.permutation(len(x))
            for start in range(0, len(x), 64):
                index = order[start:start + 64]
                logits = self.out(self.body(flat[index]))
                loss = -(ag.log_softmax(logits, axis=1)[np.arange(len(index)), y[index]]).mean()
                for p in optimizer.params:
                    p.grad = None
                loss.backward()
                optimizer.step()
        self.test_accuracy = float((self.predict(x_test) == y_test).mean())

    def features(self, images: np.ndarray) -> np.ndarray:
        with ag.no_grad():
            return self.body(np.asarray(images, np.float32).reshape(len(images), -1)).data

    def predict(self, images: np.ndarray) -> np.ndarray:
        with ag.no_grad():
            return self.out(self.body(np.asarray(images, np.float32).reshape(
                len(images), -1))).data.argmax(axis=1)


def _frechet(a: np.ndarray, b: np.ndarray) -> float:
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # a tiny ridge: dead ReLU units make both covariances singular
    ridge = 1e-6 * np.eye(len(cov_a))
    root = sqrtm((cov_a + ridge) @ (cov_b + ridge)).real
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root))


def _kid(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD² with the cubic polynomial kernel (x·y/d + 1)³ (Bińkowski et al. 2018)."""
    d = a.shape[1]
    k_aa, k_bb, k_ab = ((a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3)
    m, n = len(a), len(b)
    return float((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
                 + (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1)) - 2 * k_ab.mean())


def _radii(points: np.ndarray, k: int) -> np.ndarray:
    distances = np.linalg.norm(points[:, None] - points[None], axis=2)
    return np.sort(distances, axis=1)[:, k]  # column 0 is the point itself


def _manifold_metrics(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """Precision/recall (k = 3, Kynkäänniemi et al. 2019), density/coverage (k = 5, Naeem
    et al. 2020)."""
    cross = np.linalg.norm(real[:, None] - fake[None], axis=2)  # (R, F)
    real_3, fake_3, real_5 = _radii(real, 3), _radii(fake, 3), _radii(real, 5)
    precision = np.mean((cross <= real_3[:, None]).any(axis=0))
    recall = np.mean((cross <= fake_3[None]).any(axis=1))
    density = np.sum(cross <= real_5[:, None]) / (5 * fake.shape[0])
    coverage = np.mean((cross <= real_5[:, None]).any(axis=1))
    return {"precision": float(precision), "recall": float(recall), "density": float(density),
            "coverage": float(coverage)}


def digit_quality(samples: np.ndarray, judge: LocalJudge) -> dict[str, float]:
    """Sample quality of digits in [−1, 1] against the test split: the one call to point at
    ``minigen.quality`` once it lands. FD, KID ×10³ lower is better; the rest higher."""
    real = judge.features(get_dataset("digits-signed", "test")[0])
    fake = judge.features(samples[:len(real)])
    return {"fd": _frechet(real, fake), "kid_e3": 1e3 * _kid(real, fake),
            **_manifold_metrics(real, fake)}


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
    judge = LocalJudge()
    print(f"local judge: test accuracy {100 * judge.test_accuracy:.1f}%\n")
    x_train, _ = get_dataset("digits-signed", "train")
    floor = digit_quality(x_train[np.random.default_rng(0).permutation(len(x_train))], judge)
    rows = [("real train vs test (floor)", floor, 0.0, "")]
    for name in ("gan", "dcgan", "cgan", "infogan"):
        model, cpu = train_registered(name)
        model.eval()
        rng = np.random.default_rng(7)
        labels = np.arange(1000) % 10
        conditions = {"y": labels} if name == "cgan" else {}
        samples = model.sample(1000, rng, **conditions)
        extra = ""
        if name == "cgan":
            extra = f"class accuracy {100 * np.mean(judge.predict(samples) == labels):.1f}%"
            gan_figures.class_rows(model, os.path.join(figures, "cgan-classes.png"))
        if name == "infogan":
            x_test, y_test = get_dataset("digits-signed", "test")
            clusters, _ = model.infer_codes(x_test)
            by_code = model.sample_with_codes(labels, rng.uniform(-1, 1, (1000, 2)), rng)
            by_judge = cluster_accuracy(judge.predict(by_code), labels)
            extra = (f"cluster accuracy {100 * cluster_accuracy(y_test, clusters):.1f}% "
                     f"(judge's classes of samples by c₁: {100 * by_judge:.1f}%)")
            gan_figures.infogan_figures(model, figures)
        gan_figures.sample_grid(samples[:100], os.path.join(figures, f"{name}-samples.png"),
                                name)
        rows.append((name, digit_quality(samples, judge), cpu, extra))
        print(f"trained {name} in {cpu:.0f} CPU s; {extra}", flush=True)
    print("\n| model | FD ↓ | KID×10³ ↓ | precision ↑ | recall ↑ | density ↑ | coverage ↑ "
          "| train CPU s | notes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, q, cpu, extra in rows:
        print(f"| {name} | {q['fd']:.2f} | {q['kid_e3']:.2f} | {q['precision']:.2f} "
              f"| {q['recall']:.2f} | {q['density']:.2f} | {q['coverage']:.2f} | {cpu:.0f} "
              f"| {extra} |")


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
