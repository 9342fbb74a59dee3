"""Mode counting on 2-D Gaussian mixtures: the VEEGAN/PacGAN protocol.

Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN) score 2,500 samples of a
generator trained on a ring of 8 Gaussians (radius 1, σ = 0.01) or a 5×5 grid of
Gaussians at {−4, −2, 0, 2, 4}² (σ = 0.05); ``minigen.data.MODE_PROTOCOL_MIXTURES``
holds both. Each sample is assigned to its nearest mode, and

* a sample is *high quality* when it lies within 3σ of that mode. The boundary counts:
  distance ≤ 3σ, with a relative slack of 1e-9 so that a sample placed at exactly 3σ in
  decimal (where 3 · 0.05 and 1.15 − 1 round differently) counts as the protocol says;
* a mode is *captured* when at least one high-quality sample is assigned to it;
* the *mode histogram* is the share of the high-quality samples at each mode; its KL to
  the uniform distribution over modes is 0 for a balanced generator, log K for one that
  puts every good sample on one mode, and +inf when there is no good sample at all.
"""

from __future__ import annotations

import numpy as np

from minigen.data import ModeMixture, assign_to_centers

from .metrics import histogram, kl_to_uniform

NUM_PROTOCOL_SAMPLES = 2500
HIGH_QUALITY_STDS = 3.0
BOUNDARY_SLACK = 1e-9


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"samples must have shape (N, 2) with N >= 1; got {points.shape}")
    return points


def high_quality_mask(points: np.ndarray, mixture: ModeMixture) -> tuple[np.ndarray, np.ndarray]:
    """Each point's nearest mode and whether it lies within 3σ of it.

    Parameters
    ----------
    points : (N, 2)
    mixture : the centres and σ

    Returns
    -------
    modes : (N,) int64 index of the nearest centre
    high_quality : (N,) bool, ‖x − c_mode‖ ≤ 3σ (boundary included; see the module)
    """
    points = _check_points(points)
    modes = assign_to_centers(points, mixture.centers)
    distances = np.linalg.norm(points - mixture.centers[modes], axis=1)
    radius = HIGH_QUALITY_STDS * mixture.std * (1.0 + BOUNDARY_SLACK)
    return modes, distances <= radius


def mode_statistics(points: np.ndarray, mixture: ModeMixture) -> dict[str, float]:
    """The protocol's three figures for one set of 2-D samples.

    Parameters
    ----------
    points : (N, 2) samples (the protocol uses N = 2,500)
    mixture : the mixture the generator was trained on

    Returns
    -------
    dict with
        ``modes_captured`` : modes with ≥ 1 high-quality sample, out of K (higher is better)
        ``high_quality_fraction`` : share of samples within 3σ of a mode (higher is better)
        ``mode_kl`` : KL(mode histogram of the high-quality samples ‖ uniform over the K
        modes) in nats (lower is better; +inf without high-quality samples)
    """
    modes, high_quality = high_quality_mask(points, mixture)
    num_modes = len(mixture.centers)
    good_modes = modes[high_quality]
    mode_kl = (kl_to_uniform(histogram(good_modes, num_modes)) if len(good_modes)
               else float("inf"))
    return {
        "modes_captured": float(len(np.unique(good_modes))),
        "high_quality_fraction": float(high_quality.mean()),
        "mode_kl": mode_kl,
    }
