"""What the image-to-image GANs (pix2pix, CycleGAN) share: the checks on the images they
translate, and which test images their samples translate.

A translation model's ``sample(n, rng, source=...)`` maps n given images (``source``, one
per sample) to the other domain: its "samples" are translations, and
``sampling_conditions`` picks the images to translate from the test split, with their
digit classes, so the judge's ``conditional_accuracy`` says whether a translated digit
still shows its class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from minigen.models.base import Batch, Model


def check_images(model: Model, images: Any, argument: str, n: int | None = None) -> Tensor:
    """``images`` through the model's door (``Model.examples``), refused with the argument's
    name when missing, of the wrong shape, or (with ``n``) not exactly n rows."""
    owner = type(model).__name__
    if images is None:
        raise ValueError(f"{owner}: pass {argument}=, images (N, "
                         f"{', '.join(map(str, model.data_shape))}) in [−1, 1]")
    shape = tuple(np.shape(images.data if isinstance(images, Tensor) else images))
    if shape[1:] != tuple(model.data_shape):
        raise ValueError(f"{owner}: {argument} has shape {shape}, expected (N, "
                         f"{', '.join(map(str, model.data_shape))})")
    if n is not None and shape[0] != n:
        raise ValueError(f"{owner}: {argument} must hold one image per sample, n = {n}; got "
                         f"{shape[0]} images")
    try:
        return model.examples(images)
    except ValueError as error:  # the door names "x"; say which argument it was
        raise ValueError(str(error).replace(": x ", f": {argument} ", 1)) from None


def held_out_sources(fields: Batch, n: int, images: str, labels: str = "y"
                ) -> tuple[Batch, np.ndarray | None]:
    """The first n test images of field ``images`` (repeated when there are fewer) as
    ``{"source": ...}``, and their classes from field ``labels`` when ``fields`` has it."""
    if images not in fields:
        raise ValueError(f"the test fields lack {images!r} (they have {sorted(fields)}); a "
                         f"translation data set carries the images to translate there")
    rows = np.arange(int(n)) % len(fields[images])
    classes = np.asarray(fields[labels])[rows] if labels in fields else None
    return {"source": np.asarray(fields[images])[rows]}, classes
