"""Receptive fields of the four autoregressive image models, side by side (issue 4).

Which earlier pixels can reach one pixel's logit in PixelCNN, Gated PixelCNN, Row LSTM
and Diagonal BiLSTM on 8×8 images, each built with its registry defaults. Random weights
suffice: which pixels reach a logit is fixed by the masks and the recurrences, not by
training (autograd reads it off ∂l_ij/∂x). Prints how many earlier pixels each model
sees for the centre and for the pixel drawn (``minigen.plot.wedge_pixel``, below left of
the centre, where the PixelCNN blind spot fits in the image), and writes the figure.

    python benchmarks/receptive_fields.py [PATH]   (default ./receptive_fields.png)
"""

from __future__ import annotations

import argparse

import numpy as np

from minigen.models.registry import build
from minigen.plot import INFLUENCES, plot_receptive_fields, receptive_field, wedge_pixel

MODELS = {"PixelCNN": "pixelcnn", "Gated PixelCNN": "gated_pixelcnn",
          "Row LSTM": "row_lstm", "Diagonal BiLSTM": "diagonal_bilstm"}
SHAPE = (1, 8, 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="receptive_fields.png",
                        help="where to write the PNG (default ./receptive_fields.png)")
    args = parser.parse_args()
    models = {title: build(name, SHAPE, np.random.default_rng(0))
              for title, name in MODELS.items()}
    height, width = SHAPE[1:]
    pixels = [(height // 2, width // 2), wedge_pixel((height, width))]
    index = [i * width + j for i, j in pixels]
    print(f"earlier pixels that reach the logit ({height}x{width}, registry defaults)")
    print(f"| {'model':<16} | " + " | ".join(f"{'pixel ' + str(p):<19}" for p in pixels)
          + " |")
    print(f"|{'-' * 18}|" + "|".join("-" * 21 for _ in pixels) + "|")
    for title, model in models.items():
        seen = [int((receptive_field(model, pixel) == INFLUENCES).sum()) for pixel in pixels]
        print(f"| {title:<16} | " + " | ".join(f"{s:>2} of {k:<13}" for s, k in zip(seen, index))
              + " |")
    print(f"wrote {plot_receptive_fields(models, args.path, pixels[1])}")


if __name__ == "__main__":
    main()
