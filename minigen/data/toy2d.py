"""Two-dimensional toy distributions for GANs, flows and density models.

Every sampler has the form ``f(n, rng, ...) -> (n, 2) float64`` and draws only through
``rng``, so the same seed gives the same points and NumPy's global state is never used.

The mixtures (ring, grid) come with their centres, so mode coverage can be measured:
``assign_to_centers(samples, ring_centers())`` gives each sample its nearest mode.
A 10-mode ring, the usual adversarial-autoencoder prior, is
``ring_of_gaussians(n, rng, modes=10)`` or ``mixture_of_gaussians_2d(n, rng)``.

``MODE_PROTOCOL_MIXTURES`` holds the two mixtures of the mode-collapse protocol of VEEGAN
(Srivastava et al. 2017) and PacGAN (Lin et al. 2018), with exactly their parameters:
a ring of 8 Gaussians of radius 1 and σ = 0.01, and a 5×5 grid of Gaussians at
{−4, −2, 0, 2, 4}² with σ = 0.05. ``minigen.quality`` scores samples against them.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np


def _check_n_and_rng(n: int, rng: np.random.Generator) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int; got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be >= 0; got {n}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); "
            f"got {type(rng).__name__}"
        )


def _check_positive_int(argument: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{argument} must be a positive int; got {value!r}")


def ring_centers(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """Centres of the ring mixture: ``modes`` points at angles 2πk/modes, k = 0..modes−1.

    Returns
    -------
    (modes, 2) float64, all at distance ``radius`` from the origin.
    """
    _check_positive_int("modes", modes)
    # 2πk/modes for k < modes, not linspace(0, 2π, modes): that repeats angle 0 at 2π
    # and leaves modes − 1 distinct centres.
    angles = 2.0 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_centers(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """Centres of the grid mixture: a side × side lattice with step ``spacing``, mean 0.

    Returns
    -------
    (side², 2) float64, ordered row by row (x varies fastest).
    """
    _check_positive_int("side", side)
    coordinates = (np.arange(side) - (side - 1) / 2.0) * spacing
    x, y = np.meshgrid(coordinates, coordinates)
    return np.stack([x.ravel(), y.ravel()], axis=1)


def isotropic_mixture(
    n: int, rng: np.random.Generator, centers: np.ndarray, std: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample an equal-weight mixture of isotropic Gaussians and report each point's mode.

    Parameters
    ----------
    n : number of points
    rng : the only source of randomness
    centers : (K, 2) means of the components
    std : standard deviation of every component, per coordinate

    Returns
    -------
    points : (n, 2) float64
    modes : (n,) int64 index into ``centers`` of the component each point came from
    """
    _check_n_and_rng(n, rng)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) == 0:
        raise ValueError(f"centers must have shape (K, 2) with K >= 1; got {centers.shape}")
    modes = rng.integers(len(centers), size=n)
    points = centers[modes] + std * rng.standard_normal((n, 2))
    return points, modes.astype(np.int64)


def assign_to_centers(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for every point (for mode-coverage counts).

    Parameters
    ----------
    points : (N, 2)
    centers : (K, 2)

    Returns
    -------
    (N,) int64
    """
    squared_distances = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1)
    return squared_distances.argmin(axis=1).astype(np.int64)


def ring_of_gaussians(
    n: int, rng: np.random.Generator, modes: int = 8, radius: float = 2.0, std: float = 0.02
) -> np.ndarray:
    """``modes`` equal-weight Gaussians on a circle (see ``ring_centers``).

    Returns
    -------
    (n, 2) float64
    """
    return isotropic_mixture(n, rng, ring_centers(modes, radius), std)[0]


def grid_of_gaussians(
    n: int, rng: np.random.Generator, side: int = 5, spacing: float = 2.0, std: float = 0.02
) -> np.ndarray:
    """side² equal-weight Gaussians on a lattice centred at 0 (see ``grid_centers``).

    Returns
    -------
    (n, 2) float64
    """
    return isotropic_mixture(n, rng, grid_centers(side, spacing), std)[0]


@dataclass(frozen=True)
class ModeMixture:
    """An equal-weight isotropic Gaussian mixture whose modes are counted.

    Attributes
    ----------
    centers : (K, 2) the means
    std : σ of every component, per coordinate
    """

    centers: np.ndarray
    std: float

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2) float64 points and (n,) int64 the mode each came from."""
        return isotropic_mixture(n, rng, self.centers, self.std)


# The VEEGAN/PacGAN protocol's two mixtures, named as ``minigen.data.get_dataset`` names them.
MODE_PROTOCOL_MIXTURES = {
    # PacGAN: means (cos 2πk/8, sin 2πk/8), variance 10⁻⁴.
    "ring-pacgan": ModeMixture(ring_centers(modes=8, radius=1.0), std=0.01),
    # PacGAN: means (−4 + 2i, −4 + 2j), i, j = 0..4, variance 0.0025.
    "grid-pacgan": ModeMixture(grid_centers(side=5, spacing=2.0), std=0.05),
}


def mixture_of_gaussians_2d(
    n: int, rng: np.random.Generator, modes: int = 10, radius: float = 4.0, std: float = 0.5
) -> np.ndarray:
    """A 10-mode ring used as the prior of an adversarial autoencoder.

    Wider than ``ring_of_gaussians``' defaults because the encoder must be able to match
    it: with radius 4 neighbouring centres are 2.5 apart, five standard deviations.

    Returns
    -------
    (n, 2) float64
    """
    return ring_of_gaussians(n, rng, modes=modes, radius=radius, std=std)


# two_moons: unit-radius half circles, the upper one centred at (0, 0), the lower one at
# (1, 0.5); together they span [−1, 2] × [−0.5, 1], which this maps onto [−2, 2] × [−1, 1].
MOONS_SHIFT = np.array([0.5, 0.25])
MOONS_SCALE = 4.0 / 3.0


def two_moons(n: int, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    """Two interleaved half circles, each point on either with probability 1/2.

    Without noise every point lies on a circle of radius 4/3 centred at (−2/3, −1/3)
    (upper moon, y above the centre) or at (2/3, 1/3) (lower moon, y below it); the set
    spans [−2, 2] × [−1, 1]. ``noise`` is the std of Gaussian noise added to the result.

    Returns
    -------
    (n, 2) float64
    """
    _check_n_and_rng(n, rng)
    angle = np.pi * rng.random(n)
    lower = rng.random(n) < 0.5
    upper_arc = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower_arc = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    points = np.where(lower[:, None], lower_arc, upper_arc)
    points = MOONS_SCALE * (points - MOONS_SHIFT)
    return points + noise * rng.standard_normal((n, 2))


SWISS_ROLL_TURNS = (1.5 * np.pi, 4.5 * np.pi)
SWISS_ROLL_SCALE = 2.0 / SWISS_ROLL_TURNS[1]


def swiss_roll(n: int, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    """A 2-D spiral: x = s·t·(cos t, sin t), t ~ U[1.5π, 4.5π), s = 2 / (4.5π).

    The outermost turn reaches radius 2, so the set lies in [−2, 2]². ``noise`` is the
    std of Gaussian noise added to the result.

    Returns
    -------
    (n, 2) float64
    """
    _check_n_and_rng(n, rng)
    start, stop = SWISS_ROLL_TURNS
    turn = start + (stop - start) * rng.random(n)
    points = SWISS_ROLL_SCALE * turn[:, None] * np.stack([np.cos(turn), np.sin(turn)], axis=1)
    return points + noise * rng.standard_normal((n, 2))
