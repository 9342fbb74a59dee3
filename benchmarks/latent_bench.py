"""The VAE family, the VQ-VAE and the adversarial autoencoder on the 8×8 digits.

Every model trains through ``minigen.train.train`` with its registry defaults (seed 0,
no progress bar, run directory in a temporary folder) and is measured on the test split
(300 images):

* VAE, β-VAE (β = 2, the registry default, and β = 4), conditional VAE ("digits-binary"):
  test ELBO and IWAE-50 bound in nats per image (higher is better; both bound log p(x),
  for the CVAE log p(x | y)), and the mean KL(q(z|x) ‖ p(z)) where the model reports it;
* VQ-VAE ("digits", [0, 1]): per-pixel reconstruction MSE, code usage and code
  perplexity (of 32 codes), with and without EMA codebook updates; then the PixelCNN
  prior is fitted on the training code maps by the trainer (``fit_prior``, 1,000 steps) and
  its test and training NLL per 4×4 code map are printed beside the uniform prior's 16·log 32;
* adversarial autoencoder ("digits", 2-D codes): per-pixel reconstruction MSE, and the
  discriminator's mean output on test codes and on prior samples (1/2 when they match).

"train s" is the wall time of ``train`` (the training loop plus one test evaluation per
epoch, which for the VAEs includes the IWAE-50 bound), one run on a shared 2-core machine:
indicative only.

    python benchmarks/latent_bench.py [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minigen.train import train  # noqa: E402

RUNS = [  # (registry name, label, hyper-parameter overrides)
    ("vae", "VAE", {}),
    ("beta_vae", "β-VAE (β = 2)", {}),
    ("beta_vae", "β-VAE (β = 4)", {"beta": 4.0}),
    ("cvae", "conditional VAE", {}),
    ("vqvae", "VQ-VAE", {}),
    ("vqvae", "VQ-VAE (EMA codebook)", {"ema": True}),
    ("aae", "AAE (ring of 10)", {}),
    ("aae", "AAE (Gaussian)", {"prior": "gaussian"}),
]


def run(name: str, overrides: dict[str, Any], seed: int) -> tuple[Any, dict[str, float], float]:
    """Train one registry model; return the model, its final test metrics and the seconds."""
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        result = train(name, seed=seed, out_dir=run_dir, overrides=overrides, progress=False)
        seconds = time.perf_counter() - start
    return result.model, result.metrics, seconds


def figures(name: str, model: Any, metrics: dict[str, float], seed: int) -> str:
    """The cells that matter for this kind of model, as one string."""
    if name in ("vae", "beta_vae", "cvae"):
        text = f"ELBO {metrics['elbo']:8.2f}   IWAE-50 {metrics['iwae_50']:8.2f}"
        return text + (f"   KL {metrics['kl']:5.2f}" if "kl" in metrics else "")
    if name == "vqvae":
        text = (f"MSE {metrics['reconstruction_mse']:.4f}   usage "
                f"{metrics['code_usage']:.2f}   perplexity {metrics['code_perplexity']:5.2f}")
        # The trainer fitted the PixelCNN prior on the training code maps in the last
        # epoch (fit_prior); metrics hold its test NLL per code map.
        return (text + f"   prior NLL {metrics['prior_nll']:5.2f} (train "
                f"{metrics['train_prior_nll']:5.2f}, uniform {metrics['train_uniform_nll']:5.2f})")
    return (f"MSE {metrics['reconstruction_mse']:.4f}   D(codes) {metrics['d_code']:.2f}   "
            f"D(prior) {metrics['d_prior']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'model':<24} {'data':<14} {'train s':>8}  test figures (nats per image; MSE per "
          "pixel)")
    for name, label, overrides in RUNS:
        model, metrics, seconds = run(name, overrides, args.seed)
        data = "digits-binary" if name in ("vae", "beta_vae", "cvae") else "digits"
        print(f"{label:<24} {data:<14} {seconds:8.1f}  {figures(name, model, metrics, args.seed)}",
              flush=True)


if __name__ == "__main__":
    main()
