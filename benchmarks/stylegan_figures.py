"""StyleGAN's figures and its fidelity/diversity table, from a trained run directory.

* ``stylegan_mixing.png``: style mixing (Karras et al. 2019, Fig. 3). The top row holds
  the column sources B_j, the left column the row sources A_i; cell (i, j) takes the
  coarse styles (the two 4×4 layers) from A_i and the fine styles (the two 8×8 layers)
  from B_j. The noise is the same in every cell, so only the styles differ.
* ``stylegan_truncation.png``: the truncation sweep w' = w̄ + ψ(w − w̄), one row per
  ψ ∈ {0, 0.5, 0.7, 1}, the same z and noise in every row (ψ = 0 is w̄'s image).
* a table of FD, KID, precision, recall and coverage at ψ = 1 and ψ = 0.7 (1,000 samples
  each, the shared digit judge), beside the real-data floor: truncation should raise
  precision (fidelity) and lower recall (diversity).

    python -m minigen train stylegan --out runs/stylegan
    PYTHONPATH=. python benchmarks/stylegan_figures.py runs/stylegan [--samples 1000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from minigen.checkpoint import load_model
from minigen.models.adversarial.stylegan import COARSE_LAYERS, mix_styles
from minigen.plot import plot_image_grid
from minigen.quality import sample_quality

PSIS = (0.0, 0.5, 0.7, 1.0)
QUALITY_KEYS = ("fd", "kid", "precision", "recall", "coverage")


def mean_ws(model, n: int, rng: np.random.Generator) -> np.ndarray:
    """w = f(z) of the averaged mapping for n fresh z: (n, w_dim)."""
    with model.ema.swapped_in():
        return model.mapping(model.noise(n, rng)).data


def mixing_grid(model, path: Path, rows: int = 5, columns: int = 6) -> None:
    rng = np.random.default_rng(0)
    row_sources, column_sources = mean_ws(model, rows, rng), mean_ws(model, columns, rng)
    layers = model.num_layers
    noise = model.generator.synthesis.noise_maps(1, np.random.default_rng(1))

    def draw(styles: np.ndarray) -> np.ndarray:
        return model.images_from_styles(styles, rng, noise=noise)

    coarse = np.repeat(row_sources, columns, axis=0)  # cell (i, j): A_i's coarse styles
    fine = np.tile(column_sources, (rows, 1))  # ... and B_j's fine styles
    cells = draw(mix_styles(coarse, fine, COARSE_LAYERS, layers).data)
    row_images = draw(np.repeat(row_sources[:, None], layers, axis=1))
    top = np.concatenate([np.full((1, 1, 8, 8), -1.0, np.float32),
                          draw(np.repeat(column_sources[:, None], layers, axis=1))])
    body = np.concatenate([np.concatenate([row_images[i:i + 1],
                                           cells[i * columns:(i + 1) * columns]])
                           for i in range(rows)])
    plot_image_grid(np.concatenate([top, body]), path, nrow=columns + 1,
                    title="style mixing: coarse (4×4) styles from the left column, fine "
                          "(8×8) from the top row")


def truncation_sweep(model, path: Path, columns: int = 10) -> None:
    w = mean_ws(model, columns, np.random.default_rng(2))
    styles = np.repeat(w[:, None], model.num_layers, axis=1)
    noise = model.generator.synthesis.noise_maps(columns, np.random.default_rng(3))
    rows = [model.images_from_styles(styles, np.random.default_rng(4), psi, noise=noise)
            for psi in PSIS]
    plot_image_grid(np.concatenate(rows), path, nrow=columns,
                    title="truncation w̄ + ψ(w − w̄): ψ = " + ", ".join(map(str, PSIS))
                          + " (rows, top to bottom)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    model, config, _ = load_model(args.run_dir)
    folder = Path(args.run_dir)
    mixing_grid(model, folder / "stylegan_mixing.png")
    truncation_sweep(model, folder / "stylegan_truncation.png")
    print(f"wrote {folder / 'stylegan_mixing.png'} and {folder / 'stylegan_truncation.png'}")
    print(f"| ψ ({args.samples} samples) | " + " | ".join(QUALITY_KEYS) + " |")
    print("|---|" + "---:|" * len(QUALITY_KEYS))
    for psi in (1.0, 0.7):
        samples = model.sample(args.samples, np.random.default_rng(1), truncation=psi)
        quality = sample_quality(samples, config["data"], rng=np.random.default_rng(0))
        print(f"| {psi} | " + " | ".join(f"{quality[key]:.3f}" for key in QUALITY_KEYS) + " |")
    print("| real digits (floor) | "
          + " | ".join(f"{quality[key + '_floor']:.3f}" for key in QUALITY_KEYS) + " |")


if __name__ == "__main__":
    main()
