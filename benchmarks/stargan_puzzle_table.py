"""StarGAN and Puzzle-GAN on trained run directories: the issue-13 tables.

StarGAN ("digits-domains" test split, 300 digits, each shown in one of four domains): for
every target domain t, the test digits *not* already in t are translated to t, and

* cycle L1: mean |G(G(x, t), c') − x| per pixel ([−1, 1] scale), c' the digit's own domain;
* L1 to truth: mean |G(x, t) − T_t(x₀)| per pixel, where T_t(x₀) is the true image of the
  digit in domain t (the domains are deterministic maps of the original digit x₀,
  ``minigen.data.to_domain``), beside the identity map's |x − T_t(x₀)|;
* judge accuracy: the digit judge's class accuracy (against y) on the translations, read
  upright: the judge knows upright digits only, so a translation to "rotated" is turned
  back (rot90 clockwise, the inverse of the domain's map) before it is judged. Beside it,
  the identity map (the untranslated input, read the same way as a domain-t image) and
  the input read in its own domain (rotated inputs turned back): the accuracy a perfect,
  identity-keeping translation would reach.

Puzzle-GAN ("digits-signed" test split): ``minigen.quality.sample_quality`` on 1,000
completions from 3 key patches cut from the test digits (cycled), FD / precision /
recall / the judge's accuracy against the source digits' classes, each with its real-data
floor; and the mask IoU ({M̂ > ½} against the true patch mask, test digits), beside the
best constant mask (each pixel the majority of the training digits' true masks).

    python benchmarks/stargan_puzzle_table.py --stargan runs/stargan --puzzle runs/puzzle_gan
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minigen.checkpoint import load_model  # noqa: E402
from minigen.data import DOMAIN_NAMES, load_digits, to_domain  # noqa: E402
from minigen.models.adversarial.puzzle_gan import mask_iou, patch_mask  # noqa: E402
from minigen.quality import sample_quality  # noqa: E402
from minigen.quality.judge import judge_outputs, load_judge, to_judge_input  # noqa: E402
from minigen.train import load_fields  # noqa: E402

ROTATED = DOMAIN_NAMES.index("rotated")


def read_upright(images: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Images shown in ``domain`` turned so the judge can read them: rotated ones back."""
    upright = np.array(images, copy=True)
    turned = domain == ROTATED
    upright[turned] = np.rot90(images[turned], k=-1, axes=(-2, -1))
    return upright


def judge_accuracy(images: np.ndarray, labels: np.ndarray) -> float:
    judge_input, judge_name = to_judge_input(images, "digits-domains")
    _, logits = judge_outputs(load_judge(judge_name), judge_input)
    return float((logits.argmax(axis=1) == labels).mean())


def stargan_table(run_dir: str) -> None:
    model, _, _ = load_model(run_dir)
    model.eval()
    fields = load_fields("digits-domains", "test")
    x, y, domain = fields["x"], fields["y"], fields["domain"]
    originals = load_digits("test", view="signed")[0].astype(np.float32)
    rng = np.random.default_rng(0)  # unused by G (no noise); the protocol asks for one
    print(f"StarGAN ({run_dir}): test digits not already in the target domain; accuracy "
          "read upright")
    header = (f"{'target':<9} {'n':>4} {'cycle L1':>9} {'L1 truth':>9} {'identity':>9} "
              f"{'acc':>6} {'identity':>9} {'own-domain':>11}")
    print(header)
    print("-" * len(header))
    totals = []
    for target, name in enumerate(DOMAIN_NAMES):
        rows = np.flatnonzero(domain != target)
        source, labels, own = x[rows], y[rows], domain[rows]
        targets = np.full(len(rows), target)
        translated = model.sample(len(rows), rng, source=source, target=targets)
        cycle = model.sample(len(rows), rng, source=translated, target=own)
        truth = to_domain(originals[rows], targets)
        figures = (len(rows), np.abs(cycle - source).mean(), np.abs(translated - truth).mean(),
                   np.abs(source - truth).mean(),
                   judge_accuracy(read_upright(translated, targets), labels),
                   judge_accuracy(read_upright(source, targets), labels),
                   judge_accuracy(read_upright(source, own), labels))
        totals.append(figures)
        print(f"{name:<9} {figures[0]:>4} {figures[1]:>9.3f} {figures[2]:>9.3f} "
              f"{figures[3]:>9.3f} {figures[4]:>6.3f} {figures[5]:>9.3f} {figures[6]:>11.3f}")
    weights = np.array([t[0] for t in totals], dtype=float)
    means = [np.average([t[i] for t in totals], weights=weights) for i in range(1, 7)]
    print(f"{'all':<9} {int(weights.sum()):>4} {means[0]:>9.3f} {means[1]:>9.3f} "
          f"{means[2]:>9.3f} {means[3]:>6.3f} {means[4]:>9.3f} {means[5]:>11.3f}")


def puzzle_table(run_dir: str, samples: int) -> None:
    model, _, _ = load_model(run_dir)
    model.eval()
    fields = load_fields("digits-signed", "test")
    rng = np.random.default_rng(0)
    given, labels = model.sampling_conditions(samples, fields, rng)
    completions = model.sample(samples, rng, **given)
    quality = sample_quality(completions, "digits-signed", labels=labels, rng=rng)
    metrics = model.metrics(fields["x"], np.random.default_rng(1))
    train_x = load_fields("digits-signed", "train")["x"]
    _, corners = model.cut(train_x, np.random.default_rng(2))
    constant = patch_mask(corners, model.patch_size, model.data_shape).mean(axis=0) > 0.5
    _, test_corners = model.cut(fields["x"], np.random.default_rng(1))
    test_mask = patch_mask(test_corners, model.patch_size, model.data_shape)
    baseline = mask_iou(np.broadcast_to(constant, test_mask.shape), test_mask)
    print(f"\nPuzzle-GAN ({run_dir}): {samples} completions from {model.num_patches} key "
          f"patches of {model.patch_size}×{model.patch_size} cut from the test digits")
    print(f"{'figure':<22} {'model':>8} {'floor':>8}")
    print("-" * 40)
    for key in ("fd", "precision", "recall", "conditional_accuracy"):
        print(f"{key:<22} {quality[key]:>8.3f} {quality[key + '_floor']:>8.3f}")
    print(f"{'mask IoU':<22} {metrics['mask_iou']:>8.3f} {baseline:>8.3f}  (floor column: "
          "the best constant mask)")
    print(f"{'appearance L1':<22} {metrics['appearance_l1']:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stargan", help="a run directory of `minigen train stargan`")
    parser.add_argument("--puzzle", help="a run directory of `minigen train puzzle_gan`")
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    if args.stargan:
        stargan_table(args.stargan)
    if args.puzzle:
        puzzle_table(args.puzzle, args.samples)


if __name__ == "__main__":
    main()
