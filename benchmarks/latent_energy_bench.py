"""Autoencoders, the RBM and the GSN on the 8×8 digits: test figures and training time.

Every model trains with its registry defaults (hyper-parameters, epochs, batch size,
learning rate; models with ``train_step`` use their own optimiser), seed 0, on the train
split, and is measured on the test split (300 images):

* autoencoders ("digits", [0, 1]): per-pixel reconstruction MSE and MAE of σ(g(f(x)));
  the denoising AE also its error on masked inputs, the sparse AE its mean activation;
* RBM ("digits-binary"): test NLL in nats with log Z exact (2^16 hidden states
  enumerated), the AIS estimate of the same log Z beside it, and the NLL of independent
  pixels at the training marginals for reference; its MSE is the one-step mean-field
  reconstruction σ(b + W σ(c + Wᵀv));
* GSN ("digits-binary"): one-step denoising MSE, and a sample-quality proxy: the mean
  Hamming distance from each of 300 chain samples (200 steps from noise) to its nearest
  training image, next to the same figure for real test images and for images with
  independent pixels at the training marginals.

Training time is the wall time of the training loop alone (no evaluation), single run on
a shared 2-core machine, so it is indicative only.

    python benchmarks/latent_energy_bench.py [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minigen.data import DataLoader, get_dataset  # noqa: E402
from minigen.models.base import TrainsItself  # noqa: E402
from minigen.models.registry import build, get_spec  # noqa: E402
from minigen.train import build_optimizers  # noqa: E402

RUNS = [  # (registry name, label, hyper-parameter overrides)
    ("autoencoder", "autoencoder (MLP)", {}),
    ("conv_autoencoder", "autoencoder (conv 16-32)", {}),
    ("autoencoder", "autoencoder (MLP, MAE)", {"loss": "mae"}),
    ("denoising_autoencoder", "denoising AE (mask 25%)", {}),
    ("denoising_autoencoder", "denoising AE (gauss σ=0.2)",
     {"corruption": "gaussian", "noise_level": 0.2}),
    ("sparse_autoencoder", "sparse AE (KL, ρ=0.05)", {}),
    ("stacked_autoencoder", "stacked AE (untied)", {}),
    ("stacked_autoencoder", "stacked AE (tied)", {"tied": True}),
    ("rbm", "RBM CD-1", {}),
    ("rbm", "RBM PCD-1", {"persistent": True, "run_lr": 0.05}),
    ("gsn", "GSN (walkback 3)", {}),
]


def fit(name: str, overrides: dict[str, Any], seed: int) -> tuple[Any, float]:
    """Train registry model ``name`` with its defaults; return it and the loop's seconds."""
    spec = get_spec(name)
    x_train, _ = get_dataset(spec.data, "train")
    rng = np.random.default_rng(seed)
    hparams = dict(overrides)
    lr = hparams.pop("run_lr", spec.lr)  # the run's --lr, not a model hyper-parameter
    model = build(name, x_train.shape[1:], rng, **hparams)
    loader = DataLoader(x_train, batch_size=spec.batch_size, shuffle=True, rng=rng)
    optimizers = build_optimizers(model, spec, lr)
    start = time.perf_counter()
    for _ in range(spec.epochs):
        for x in loader:
            model.before_step(x, rng)
            if isinstance(model, TrainsItself):
                model.train_step(x, rng)
            else:
                optimizers["adam"].zero_grad()
                model.loss(x, rng).backward()
                optimizers["adam"].step()
            model.after_step()
    return model, time.perf_counter() - start


def nearest_hamming(images: np.ndarray, reference: np.ndarray) -> float:
    """Mean over ``images`` of the Hamming distance to the closest ``reference`` image."""
    flat, ref = images.reshape(len(images), 1, -1), reference.reshape(1, len(reference), -1)
    return float(np.abs(flat - ref).sum(axis=-1).min(axis=1).mean())


def row(name: str, label: str, overrides: dict[str, Any], seed: int) -> list[str]:
    spec = get_spec(name)
    model, seconds = fit(name, overrides, seed)
    x_train, _ = get_dataset(spec.data, "train")
    x_test, _ = get_dataset(spec.data, "test")
    rng = np.random.default_rng(seed + 1)
    figures = model.metrics(x_test, rng)
    mse, mae = figures.get("reconstruction_mse"), figures.get("reconstruction_mae")
    nll, notes = "", ""
    if "denoising_mse" in figures and name != "gsn":
        notes = f"denoising MSE {figures['denoising_mse']:.4f}"
    if name == "sparse_autoencoder":
        notes = f"mean activation {figures['mean_code_activation']:.3f}"
    if name == "rbm":
        ais = model.ais_log_partition(rng, num_chains=100, num_betas=1000)
        method = "exact" if figures["log_z_exact"] else "AIS"
        nll = f"{figures['nll']:.2f} ({method})"
        rate = np.clip(x_train.mean(axis=0), 1e-3, 1 - 1e-3)  # independent-pixel baseline
        baseline = -np.mean(np.sum(x_test * np.log(rate) + (1 - x_test) * np.log1p(-rate),
                                   axis=(1, 2, 3)))
        notes = (f"log Z {figures['log_z']:.3f}, AIS (100 chains, 1000 β) {ais:.3f}; "
                 f"indep. pixels NLL {baseline:.2f}; MSE of p(v|E[h|v])")
        mae = None
    if name == "gsn":
        mse = figures["denoising_mse"]
        samples = model.sample(300, rng, steps=200)
        marginals = x_train.mean(axis=0)
        independent = (rng.random((300, *x_train.shape[1:])) < marginals).astype(np.float32)
        notes = (f"denoising; NN Hamming: samples {nearest_hamming(samples, x_train):.2f}, "
                 f"test {nearest_hamming(x_test, x_train):.2f}, "
                 f"indep. pixels {nearest_hamming(independent, x_train):.2f}")
    return [label, spec.data, str(spec.epochs), "" if mse is None else f"{mse:.4f}",
            "" if mae is None else f"{mae:.4f}", nll, notes, f"{seconds:.1f}",
            str(model.num_parameters())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    header = ["model", "data", "epochs", "test MSE/px", "test MAE/px", "test NLL (nats)",
              "notes", "train s", "params"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for name, label, overrides in RUNS:
        print("| " + " | ".join(row(name, label, overrides, args.seed)) + " |", flush=True)


if __name__ == "__main__":
    main()
