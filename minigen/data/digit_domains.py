"""Image domains made from the embedded digits, for image-to-image translation.

Every domain is a deterministic map of the signed view ([−1, 1], background −1) of
``load_digits``, chosen so that the translation is visible to the eye on 8×8 pixels:

==========  ===========================================================================
domain      map of a digit ``x`` (N, 1, 8, 8)
==========  ===========================================================================
original    x
bold        grey dilation along rows: each pixel the max of itself and its left
            neighbour, so vertical strokes gain a pixel of width (a "+" element fills
            most 8×8 digits into blobs)
thin        grey erosion along rows: each pixel the min of itself and its right
            neighbour, so vertical strokes lose a pixel of width (a "+" erosion wipes
            most 8×8 strokes out); erosion by the reflected element, so thin undoes
            most of bold
rotated     turned 90° anticlockwise (``np.rot90`` on the last two axes)
pixelated   the 2×2 block means, each repeated over its block: the 4×4 down-sample
            drawn at 8×8
==========  ===========================================================================

Outside the image counts as background (−1) for dilation and erosion.

Three data sets are built on them (see ``translation_fields``):

* ``digits-pix2pix``: *paired*. ``source`` is the pixelated digit, ``x`` the digit itself,
  row by row the same image (pix2pix learns the 4×4 → 8×8 super-resolution).
* ``digits-thin-bold``: *unpaired*. The split's images are dealt in turn to domain A
  (``x``, thin) and domain B (``x_b``, bold): image 2i goes to A and 2i + 1 to B, so no
  digit appears in both and the rows of ``x`` and ``x_b`` are different digits. ``y`` and
  ``y_b`` are their classes (for judging that a translation keeps the digit).
* ``digits-domains``: four attribute domains, original / bold / thin / rotated (domain
  ids 0..3, ``DOMAIN_NAMES``). Image i of the split is shown in domain i mod 4, so each
  digit appears once, in one domain; ``domain`` holds the id and ``y`` the class.
"""

from __future__ import annotations

import numpy as np

from minigen.checks import check_choice

from .digits import load_digits

BACKGROUND = -1.0
DOMAIN_NAMES = ("original", "bold", "thin", "rotated")
TRANSLATION_SETS = ("digits-pix2pix", "digits-thin-bold", "digits-domains")


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W); got shape {images.shape}")
    return images


def _shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """out[..., i, j] = images[..., i + dy, j + dx], background where that is outside."""
    height, width = images.shape[-2:]
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=BACKGROUND)
    return padded[..., 1 + dy:1 + dy + height, 1 + dx:1 + dx + width]


def dilate(images: np.ndarray) -> np.ndarray:
    """Grey dilation by a 1×2 row element: the max of each pixel and its left neighbour."""
    images = _check_images(images)
    return np.maximum(images, _shifted(images, 0, -1))


def erode_rows(images: np.ndarray) -> np.ndarray:
    """Grey erosion by a 1×2 row element: the min of each pixel and its right neighbour."""
    images = _check_images(images)
    return np.minimum(images, _shifted(images, 0, 1))


def rotate90(images: np.ndarray) -> np.ndarray:
    """Each image turned 90° anticlockwise."""
    return np.ascontiguousarray(np.rot90(_check_images(images), k=1, axes=(-2, -1)))


def pixelate(images: np.ndarray) -> np.ndarray:
    """The 2×2 block means repeated over their blocks (height and width must be even)."""
    images = _check_images(images)
    n, c, height, width = images.shape
    if height % 2 or width % 2:
        raise ValueError(f"pixelate needs even height and width; got {height}×{width}")
    blocks = images.reshape(n, c, height // 2, 2, width // 2, 2).mean(axis=(3, 5))
    return blocks.repeat(2, axis=2).repeat(2, axis=3).astype(images.dtype)


DOMAIN_MAPS = {"original": lambda images: images.copy(), "bold": dilate,
               "thin": erode_rows, "rotated": rotate90}


def to_domain(images: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Show image i in domain ``domain[i]`` (an id into ``DOMAIN_NAMES``)."""
    images = _check_images(images)
    domain = np.asarray(domain)
    if domain.shape != images.shape[:1] or not np.isin(domain, range(len(DOMAIN_NAMES))).all():
        raise ValueError(f"domain must be (N,) = {images.shape[:1]} ids in 0.."
                         f"{len(DOMAIN_NAMES) - 1}; got shape {domain.shape}")
    out = np.empty_like(images)
    for index, name in enumerate(DOMAIN_NAMES):
        rows = domain == index
        out[rows] = DOMAIN_MAPS[name](images[rows])
    return out


def translation_fields(name: str, split: str) -> dict[str, np.ndarray]:
    """The batch fields of one translation data set (see the module docstring).

    Parameters
    ----------
    name : one of ``TRANSLATION_SETS``
    split : "train", "test" or "all" (the train fields followed by the test fields)

    Returns
    -------
    dict of aligned float32 (N, 1, 8, 8) images in [−1, 1] and int64 (N,) labels:
    ``digits-pix2pix``: x, y, source; ``digits-thin-bold``: x, y, x_b, y_b (N = half the
    split, rounded down); ``digits-domains``: x, y, domain.
    """
    check_choice("name", name, TRANSLATION_SETS)
    if split == "all":  # the train fields followed by the test fields
        parts = [translation_fields(name, part) for part in ("train", "test")]
        return {field: np.concatenate([part[field] for part in parts]) for field in parts[0]}
    images, labels = load_digits(split, view="signed")
    if name == "digits-pix2pix":
        return {"x": images, "y": labels, "source": pixelate(images)}
    if name == "digits-thin-bold":
        half = len(images) // 2
        a, b = slice(0, 2 * half, 2), slice(1, 2 * half, 2)
        return {"x": erode_rows(images[a]), "y": labels[a],
                "x_b": dilate(images[b]), "y_b": labels[b]}
    domain = np.arange(len(images), dtype=np.int64) % len(DOMAIN_NAMES)
    return {"x": to_domain(images, domain), "y": labels, "domain": domain}
