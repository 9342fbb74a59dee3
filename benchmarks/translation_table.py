"""Tables of the image-to-image GANs on the test split, from trained run directories.

    PYTHONPATH=. python benchmarks/translation_table.py runs/pix2pix runs/cyclegan

(train them first with ``minigen train pix2pix`` and ``minigen train cyclegan``; each
directory's config says which model it holds).

pix2pix ("digits-pix2pix", 300 test pairs): the L1 distance per pixel from the output to
the paired target, and the digit judge's class accuracy on the outputs, against two
baselines: the identity map (the pixelated source itself) and the mean training digit.
Rows for G with dropout off (``translate``) and on (``sample``, the paper's test-time noise).

CycleGAN ("digits-thin-bold", 150 test digits per domain): the cycle-reconstruction L1
‖F(G(a)) − a‖ and ‖G(F(b)) − b‖ per pixel, and the judge's class accuracy on the
translated digits (a digit must keep its class through the translation), against the
identity map (the untranslated digits). The data are unpaired for training, but each test
digit's other-domain version is known (bold = dilation, thin = erosion of the same
original), so the table also gives the L1 to that hidden counterpart and the judge's
accuracy on it (what a perfect translation would score).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from minigen.checkpoint import load_model
from minigen.data import get_fields, load_digits
from minigen.data.digit_domains import dilate, erode_rows
from minigen.quality.judge import judge_outputs, load_judge, to_judge_input


def judge_accuracy(images: np.ndarray, labels: np.ndarray, data_name: str) -> float:
    """The digit judge's class accuracy on signed images (N, 1, 8, 8) of ``data_name``."""
    inputs, judge_name = to_judge_input(np.asarray(images, np.float64), data_name)
    _, logits = judge_outputs(load_judge(judge_name), inputs)
    return float(np.mean(logits.argmax(axis=1) == labels))


def mean_l1(images: np.ndarray, targets: np.ndarray) -> float:
    """Mean |image − target| per pixel."""
    return float(np.mean(np.abs(np.asarray(images, np.float64) - targets)))


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def pix2pix_table(run: Path) -> str:
    model, config, _ = load_model(run)
    data = config["data"]
    test = get_fields(data, "test")
    source, target, labels = test["source"], test["x"], test["y"]
    mean_digit = get_fields(data, "train")["x"].mean(axis=0, keepdims=True)
    outputs = {
        "identity map (the pixelated source)": source,
        "mean training digit": np.repeat(mean_digit, len(target), axis=0),
        "pix2pix G(s), dropout off": model.translate(source),
        "pix2pix G(s), dropout on (paper's test time)":
            model.sample(len(source), np.random.default_rng(0), source=source),
        "target (the digit itself)": target,
    }
    lines = [f"pix2pix on {data}, {len(target)} test pairs ({run})", "",
             _row(["output", "L1 per pixel to target", "judge accuracy"]),
             _row(["---", "---:", "---:"])]
    for name, images in outputs.items():
        lines.append(_row([name, f"{mean_l1(images, target):.4f}",
                           f"{judge_accuracy(images, labels, data):.3f}"]))
    return "\n".join(lines)


def _hidden_counterparts(count_a: int, count_b: int) -> tuple[np.ndarray, np.ndarray]:
    """The bold versions of the test A digits and the thin versions of the test B digits
    (``digit_domains``: A takes the split's even images, B the odd ones)."""
    originals, _ = load_digits("test", view="signed")
    return dilate(originals[0:2 * count_a:2]), erode_rows(originals[1:2 * count_b:2])


def cyclegan_table(run: Path) -> str:
    model, config, _ = load_model(run)
    data = config["data"]
    test = get_fields(data, "test")
    a, b, y_a, y_b = test["x"], test["x_b"], test["y"], test["y_b"]
    true_b, true_a = _hidden_counterparts(len(a), len(b))
    fake_b, fake_a = model.to_b(a), model.to_a(b)
    rows = [
        ("A → B", "identity map (a, untranslated)", a, a, true_b, y_a),
        ("A → B", "CycleGAN G(a)", fake_b, model.to_a(fake_b), true_b, y_a),
        ("A → B", "hidden bold counterpart of a", true_b, None, true_b, y_a),
        ("B → A", "identity map (b, untranslated)", b, b, true_a, y_b),
        ("B → A", "CycleGAN F(b)", fake_a, model.to_b(fake_a), true_a, y_b),
        ("B → A", "hidden thin counterpart of b", true_a, None, true_a, y_b),
    ]
    lines = [f"CycleGAN on {data}, {len(a)} + {len(b)} test digits ({run})", "",
             _row(["direction", "output", "cycle L1 per pixel", "L1 to hidden counterpart",
                   "judge accuracy"]),
             _row(["---", "---", "---:", "---:", "---:"])]
    for direction, name, images, back, counterpart, labels in rows:
        start = a if direction == "A → B" else b
        cycle = "—" if back is None else f"{mean_l1(back, start):.4f}"
        lines.append(_row([direction, name, cycle, f"{mean_l1(images, counterpart):.4f}",
                           f"{judge_accuracy(images, labels, data):.3f}"]))
    return "\n".join(lines)


TABLES = {"pix2pix": pix2pix_table, "cyclegan": cyclegan_table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path,
                        help="run directories of trained pix2pix / cyclegan models")
    for run in parser.parse_args().runs:
        _, config, _ = load_model(run)
        if config["model"] not in TABLES:
            parser.error(f"{run} holds {config['model']!r}; this script tables "
                         f"{', '.join(TABLES)}")
        print(TABLES[config["model"]](run), end="\n\n")


if __name__ == "__main__":
    main()
