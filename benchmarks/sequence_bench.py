"""Sequence models as generative models: four tables (not tests).

1. names: test nats per character (end token included, the unit of the published anchors:
   bigram ≈ 2.45, makemore's ~200k-parameter Transformer ≈ 1.92) of the bigram, RNN,
   LSTM, GRU and Transformer LMs with their registry defaults (``minigen.train.train``,
   seed 0), parameter counts, training CPU seconds and the fraction of 1,000 sampled
   names that do not occur in the training set;
2. digits as 64-token raster sequences: exact test NLL in nats per 8×8 binary image
   (compare the README's table: MADE 16.62 … independent pixels 25.20);
3. the generative classifier: test accuracy against a softmax MLP of the same size,
   accuracy against coverage as the rejection threshold rises, and AUROC / FPR at 95 % TPR
   for rejecting uniform noise, blank images, inverted digits, bars and stripes and held-out
   classes 5–9 (classifiers trained on 0–4), scored by plain likelihood log p(x), the
   likelihood ratio of Ren et al. (2019) and the softmax's maximum probability;
4. the RGB pixel: the 256³ − 1 joint table against independent channels on the pixels of
   matplotlib's Grace Hopper photograph (α chosen on a validation split of the training
   pixels).

CPU seconds are ``time.process_time()`` of this process (run it with one BLAS thread,
``OMP_NUM_THREADS=1``, for one-core figures).

    python benchmarks/sequence_bench.py [--sections names digits classifier rgb]
                                        [--epochs-scale 1.0] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import autograd as ag
from minigen.data import (
    DataLoader,
    decode_names,
    get_dataset,
    load_colour_pixels,
    load_names,
    sample_bars_and_stripes,
)
from minigen.models.sequence.generative_classifier import GenerativeClassifier
from minigen.models.sequence.rgb_pixel import IndependentChannels
from minigen.models.tabular import RGBPixelJoint
from minigen.nn import Linear, Module
from minigen.optim import Adam
from minigen.plot import plot_image_grid
from minigen.train import train

LANGUAGE_MODELS = ("bigram", "rnn_lm", "lstm_lm", "gru_lm", "transformer_lm")
DIGIT_SEQUENCE_EPOCHS = 30


def _train(name: str, epochs_scale: float, **kwargs) -> tuple:
    from minigen.models.registry import get_spec

    epochs = max(1, round(get_spec(name).epochs * epochs_scale))
    start = time.process_time()
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(name, epochs=kwargs.pop("epochs", epochs), seed=0, out_dir=run_dir,
                       progress=False, **kwargs)
    return result, time.process_time() - start


# ----- 1. names ---------------------------------------------------------------------------
def names_table(epochs_scale: float) -> None:
    train_names = set(decode_names(load_names("train")[0]))
    print("| model | parameters | epochs | test nats/char | CPU s | novel samples | samples |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in LANGUAGE_MODELS:
        result, seconds = _train(name, epochs_scale)
        model = result.model
        names = model.decode(model.sample(1000, np.random.default_rng(1)))
        novel = np.mean([n not in train_names for n in names])
        count = model.num_free_parameters() if name == "bigram" else model.num_parameters()
        print(f"| {name} | {count:,} | {result.config['epochs']} | "
              f"{result.metrics['nats_per_token']:.3f} | {seconds:.0f} | {novel:.2f} | "
              f"{', '.join(names[:8])} |", flush=True)


# ----- 2. digits as sequences -----------------------------------------------------------
def digits_table(epochs_scale: float, out: Path) -> None:
    print("| model | parameters | epochs | test NLL (nats/image) | CPU s |")
    print("|---|---:|---:|---:|---:|")
    for name in LANGUAGE_MODELS:
        epochs = 1 if name == "bigram" else max(1, round(DIGIT_SEQUENCE_EPOCHS * epochs_scale))
        result, seconds = _train(name, 1.0, data="digits-binary", epochs=epochs)
        model = result.model
        count = model.num_free_parameters() if name == "bigram" else model.num_parameters()
        print(f"| {name} | {count:,} | {epochs} | {result.metrics['nll']:.2f} | "
              f"{seconds:.0f} |", flush=True)
        plot_image_grid(model.sample(64, np.random.default_rng(2)), out / f"digits_{name}.png")


# ----- 3. the generative classifier ---------------------------------------------------
class SoftmaxMLP(Module):
    """The discriminative baseline: 64 → hidden (ReLU) → K logits."""

    def __init__(self, num_inputs: int, hidden: int, num_classes: int,
                 rng: np.random.Generator) -> None:
        super().__init__()
        self.hidden = Linear(num_inputs, hidden, rng=rng)
        self.out = Linear(hidden, num_classes, rng=rng)

    def forward(self, x: np.ndarray) -> ag.Tensor:
        return self.out(ag.relu(self.hidden(x.reshape(len(x), -1))))


def fit_softmax(x, y, num_classes, num_parameters, epochs, rng) -> SoftmaxMLP:
    hidden = max(1, round((num_parameters - num_classes) / (x[0].size + 1 + num_classes)))
    model = SoftmaxMLP(x[0].size, hidden, num_classes, rng)
    optimizer = Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for xb, yb in DataLoader(x, y, batch_size=64, shuffle=True, rng=rng):
            optimizer.zero_grad()
            log_probs = ag.log_softmax(model(xb), axis=1)
            loss = -log_probs[np.arange(len(yb)), yb].mean()  # cross-entropy
            loss.backward()
            optimizer.step()
    return model


def max_softmax(model: SoftmaxMLP, x: np.ndarray) -> np.ndarray:
    with ag.no_grad():
        return ag.softmax(model(x), axis=1).data.max(axis=1)


def fit_generative(x, y, num_classes, density, epochs, rng) -> GenerativeClassifier:
    hparams = ({"hidden": [128], "num_masks": 1, "ordering": "natural"}
               if density == "made" else {})
    model = GenerativeClassifier((1, 8, 8), rng=rng, num_classes=num_classes, density=density,
                                 density_hparams=hparams)
    model.build_optimizers(3e-3)  # MADE 64-128-64, lr and epochs chosen on a validation split
    for _ in range(epochs if density == "made" else 1):
        for xb, yb in DataLoader(x, y, batch_size=64, shuffle=True, rng=rng):
            model.train_step(xb, rng, y=yb)
    model.calibrate(x, percentile=5.0)
    return model


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    """P(score(in) > score(out)) + ½ P(tie): the area under the ROC curve (Mann–Whitney)."""
    greater = (inside[:, None] > outside[None, :]).mean()
    ties = (inside[:, None] == outside[None, :]).mean()
    return float(greater + 0.5 * ties)


def fpr_at_95_tpr(inside: np.ndarray, outside: np.ndarray) -> float:
    """Fraction of outliers accepted when the threshold keeps 95 % of the inliers."""
    threshold = np.percentile(inside, 5.0)
    return float((outside >= threshold).mean())


def classifier_tables(epochs_scale: float) -> None:
    rng = np.random.default_rng(0)
    x, y = get_dataset("digits-binary", "train")
    xt, yt = get_dataset("digits-binary", "test")
    epochs = max(1, round(40 * epochs_scale))
    start = time.process_time()
    models = {d: fit_generative(x, y, 10, d, epochs, rng) for d in ("gaussian", "made")}
    made_size = sum(models["made"].class_density(k).num_parameters() for k in range(10))
    softmax = fit_softmax(x, y, 10, made_size, epochs, rng)
    print(f"training CPU s: {time.process_time() - start:.0f}")
    print("\n| classifier | parameters | test accuracy |")
    print("|---|---:|---:|")
    for density, model in models.items():
        size = (10 * (64 + 64 * 65 // 2) if density == "gaussian"  # μ and Σ per class
                else sum(model.class_density(k).num_parameters() for k in range(10)))
        accuracy = (model.predict(xt, reject=False) == yt).mean()
        print(f"| generative, {density} per class | {size:,} | {accuracy:.3f} |")
    with ag.no_grad():
        accuracy = (softmax(xt).data.argmax(axis=1) == yt).mean()
    print(f"| softmax MLP (discriminative) | {softmax.num_parameters():,} | {accuracy:.3f} |")

    print("\n| rejected below percentile of train log p(x) | coverage | accuracy on accepted "
          "(MADE) | coverage | accuracy (Gaussian) |")
    print("|---:|---:|---:|---:|---:|")
    for percentile in (0, 1, 5, 10, 25, 50):
        cells = []
        for density in ("made", "gaussian"):
            model = models[density]
            model.calibrate(x, percentile=float(percentile))
            predicted = model.predict(xt)
            accepted = predicted >= 0
            correct = (predicted[accepted] == yt[accepted]).mean()
            cells += [f"{accepted.mean():.2f}", f"{correct:.3f}"]
        print(f"| {percentile} | {' | '.join(cells)} |")

    outliers = {
        "uniform noise": rng.integers(0, 2, (300, 1, 8, 8)).astype(np.float32),
        "blank images": np.zeros((300, 1, 8, 8), dtype=np.float32),
        "inverted digits": 1.0 - xt,
        "bars and stripes": sample_bars_and_stripes(300, 8, rng),
    }
    keep, held = y < 5, yt >= 5
    low = {d: fit_generative(x[keep], y[keep], 5, d, epochs, rng) for d in ("gaussian", "made")}
    low_softmax = fit_softmax(x[keep], y[keep], 5, made_size // 2, epochs, rng)
    rows = [(name, models, softmax, xt, outlier) for name, outlier in outliers.items()]
    rows.append(("held-out classes 5-9", low, low_softmax, xt[~held], xt[held]))
    print("\n| outliers | MADE log p(x) | MADE LLR | Gaussian log p(x) | Gaussian LLR | "
          "max-softmax |")
    print("|---|---|---|---|---|---|")
    for name, generative, discriminative, inside, outside in rows:
        cells = []
        scores = [generative["made"].log_prob, generative["made"].likelihood_ratio,
                  generative["gaussian"].log_prob, generative["gaussian"].likelihood_ratio,
                  lambda data, d=discriminative: max_softmax(d, data)]
        for score in scores:
            a, b = score(inside), score(outside)
            cells.append(f"{auroc(a, b):.3f} / {fpr_at_95_tpr(a, b):.2f}")
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    print("(each cell: AUROC / FPR at 95% TPR; higher AUROC and lower FPR are better)")


# ----- 4. the RGB pixel -----------------------------------------------------------------
def _fit_rgb(kind: str, x: np.ndarray, alpha: float):
    rng = np.random.default_rng(0)
    if kind == "joint table (rgb_pixel)":
        return RGBPixelJoint(rng=rng).fit(x, smoothing=alpha)
    return IndependentChannels(rng=rng, smoothing=alpha).fit(x)


def rgb_table() -> None:
    x, _ = load_colour_pixels("train")
    xt, _ = load_colour_pixels("test")
    order = np.random.default_rng(1).permutation(len(x))
    fit_rows, valid_rows = order[: len(x) * 9 // 10], order[len(x) * 9 // 10:]
    alphas = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    print("| model | free parameters | α (validation) | train NLL | test NLL (nats/pixel) "
          "| CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in ("joint table (rgb_pixel)", "independent channels (rgb_independent)"):
        start = time.process_time()
        valid = [-_fit_rgb(kind, x[fit_rows], a).log_prob(x[valid_rows]).mean() for a in alphas]
        alpha = alphas[int(np.argmin(valid))]
        model = _fit_rgb(kind, x, alpha)
        print(f"| {kind} | {model.num_free_parameters():,} | {alpha:g} | "
              f"{-model.log_prob(x).mean():.3f} | {-model.log_prob(xt).mean():.3f} | "
              f"{time.process_time() - start:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="*", default=["names", "digits", "classifier", "rgb"])
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--out", default="sequence_bench_out", help="directory for PNGs")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for section in args.sections:
        print(f"\n## {section}\n", flush=True)
        if section == "names":
            names_table(args.epochs_scale)
        elif section == "digits":
            digits_table(args.epochs_scale, out)
        elif section == "classifier":
            classifier_tables(args.epochs_scale)
        elif section == "rgb":
            rgb_table()
        else:
            raise SystemExit(f"unknown section {section!r}")


if __name__ == "__main__":
    main()
