"""Sample-quality metrics between two sets of feature vectors.

Each function compares ``samples`` (a model's draws, or real data for a floor) with
``reference`` (real data), both already mapped into a feature space, e.g. the digit
judge's penultimate layer. All are pure NumPy in float64 and deterministic.

=========================  ===========  ============================================
function                   better       paper
=========================  ===========  ============================================
frechet_distance           lower        Dowson & Landau 1982; as FID, Heusel et al. 2017
kernel_inception_distance  lower        Bińkowski et al. 2018 (KID)
precision, recall          higher       Kynkäänniemi et al. 2019, k = 3
density                    match (≈ 1)  Naeem et al. 2020, k = 5
coverage                   higher       Naeem et al. 2020, k = 5
kl_to_uniform              lower        KL of a histogram (e.g. predicted classes) to uniform
median_nn_distance         match        memorisation: samples → train against test → train
=========================  ===========  ============================================

"match": neither direction is better; nearest the real-data value (the floor) is.
"Within a ball" means at distance ≤ its radius (closed balls), as in both k-NN papers'
indicator 1[‖φ − φ'‖ ≤ NND_k(φ')].
"""

from __future__ import annotations

import numpy as np

PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5


def _as_features(name: str, features: np.ndarray, min_rows: int = 1) -> np.ndarray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2 or len(array) < min_rows:
        raise ValueError(f"{name} must have shape (N, D) with N >= {min_rows}; got "
                         f"{array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _check_same_dimension(samples: np.ndarray, reference: np.ndarray) -> None:
    if samples.shape[1] != reference.shape[1]:
        raise ValueError(f"samples have {samples.shape[1]} features per row but reference has "
                         f"{reference.shape[1]} (shapes {samples.shape}, {reference.shape})")


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances ‖a_i − b_j‖.

    Parameters
    ----------
    a : (N, D)
    b : (M, D)

    Returns
    -------
    (N, M) float64
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    # ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b, clipped at 0 against rounding
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row to its k-th nearest other row of the same set.

    Parameters
    ----------
    features : (N, D) with N > k
    k : which neighbour (1 = nearest); a point is not its own neighbour

    Returns
    -------
    (N,) float64
    """
    features = _as_features("features", features, min_rows=k + 1)
    distances = pairwise_distances(features, features)
    # column 0 of the sorted row is the point itself (distance 0), so the k-th other is k
    return np.partition(distances, k, axis=1)[:, k]


def frechet_distance(samples: np.ndarray, reference: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets. Lower is better.

    FD = ‖μ_s − μ_r‖² + Tr(Σ_s + Σ_r − 2 (Σ_s Σ_r)^{1/2})  (Dowson & Landau 1982; as FID,
    Heusel et al. 2017). Tr (Σ_s Σ_r)^{1/2} is computed as Σ √λ over the eigenvalues of the
    symmetric PSD matrix Σ_s^{1/2} Σ_r Σ_s^{1/2}, which has the same spectrum, so no
    complex matrix square root appears. Biased upward at small N (Bińkowski et al. 2018):
    compare figures only at equal sample counts, or against the floor.

    Parameters
    ----------
    samples : (N, D), N >= 2
    reference : (M, D), M >= 2

    Returns
    -------
    float >= 0 (up to rounding)
    """
    samples = _as_features("samples", samples, min_rows=2)
    reference = _as_features("reference", reference, min_rows=2)
    _check_same_dimension(samples, reference)
    mean_gap = samples.mean(axis=0) - reference.mean(axis=0)
    cov_samples = np.atleast_2d(np.cov(samples, rowvar=False))
    cov_reference = np.atleast_2d(np.cov(reference, rowvar=False))
    eigenvalues, eigenvectors = np.linalg.eigh(cov_samples)
    root_samples = (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))) @ eigenvectors.T
    middle = root_samples @ cov_reference @ root_samples
    trace_of_root = np.sqrt(np.maximum(np.linalg.eigvalsh(middle), 0.0)).sum()
    trace = np.trace(cov_samples) + np.trace(cov_reference) - 2.0 * trace_of_root
    return float(mean_gap @ mean_gap + trace)


def cubic_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """KID's polynomial kernel k(x, y) = (xᵀy / D + 1)³ (Bińkowski et al. 2018).

    Parameters
    ----------
    a : (N, D)
    b : (M, D)

    Returns
    -------
    (N, M) float64
    """
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def kernel_inception_distance(samples: np.ndarray, reference: np.ndarray) -> float:
    """KID: the unbiased estimate of MMD² with the cubic kernel. Lower is better.

    MMD²_u = 1/(n(n−1)) Σ_{i≠j} k(s_i, s_j) + 1/(m(m−1)) Σ_{i≠j} k(r_i, r_j)
             − 2/(nm) Σ_{i,j} k(s_i, r_j)                      (Bińkowski et al. 2018, eq. 3)

    Computed once on all rows rather than averaged over random subsets: the U-statistic
    on the full sets is the mean of the subset estimates over every subset, so it is the
    same unbiased figure without the draw. Its expectation is 0 when both sets come from
    one distribution, so a single estimate can be slightly negative.

    Parameters
    ----------
    samples : (N, D), N >= 2
    reference : (M, D), M >= 2

    Returns
    -------
    float
    """
    samples = _as_features("samples", samples, min_rows=2)
    reference = _as_features("reference", reference, min_rows=2)
    _check_same_dimension(samples, reference)
    n, m = len(samples), len(reference)
    within_samples = cubic_kernel(samples, samples)
    within_reference = cubic_kernel(reference, reference)
    between = cubic_kernel(samples, reference)
    mean_within_samples = (within_samples.sum() - np.trace(within_samples)) / (n * (n - 1))
    mean_within_reference = ((within_reference.sum() - np.trace(within_reference))
                             / (m * (m - 1)))
    return float(mean_within_samples + mean_within_reference - 2.0 * between.mean())


def inside_knn_balls(points: np.ndarray, centres: np.ndarray, k: int) -> np.ndarray:
    """Which points lie in which ball B(c_i, NND_k(c_i)) of the k-NN manifold of ``centres``.

    Parameters
    ----------
    points : (N, D)
    centres : (M, D), M > k; each ball's radius is its centre's k-th neighbour distance
        within ``centres``

    Returns
    -------
    (N, M) bool: [j, i] is ‖p_j − c_i‖ ≤ NND_k(c_i)
    """
    points = _as_features("points", points)
    centres = _as_features("centres", centres, min_rows=k + 1)
    _check_same_dimension(points, centres)
    return pairwise_distances(points, centres) <= kth_neighbour_radii(centres, k)[None, :]


def precision(samples: np.ndarray, reference: np.ndarray,
              k: int = PRECISION_RECALL_K) -> float:
    """Improved precision: the share of samples on the real manifold. Higher is better.

    precision = (1/N) Σ_j 1[∃ i: ‖s_j − r_i‖ ≤ NND_k(r_i)]   (Kynkäänniemi et al. 2019)
    where NND_k(r_i) is the distance from r_i to its k-th nearest other real row.
    Fidelity: are the samples realistic?

    Parameters
    ----------
    samples : (N, D)
    reference : (M, D), M > k

    Returns
    -------
    float in [0, 1]
    """
    return float(inside_knn_balls(samples, reference, k).any(axis=1).mean())


def recall(samples: np.ndarray, reference: np.ndarray, k: int = PRECISION_RECALL_K) -> float:
    """Improved recall: the share of real rows on the samples' manifold. Higher is better.

    recall = (1/M) Σ_i 1[∃ j: ‖r_i − s_j‖ ≤ NND_k(s_j)]   (Kynkäänniemi et al. 2019).
    Diversity: does the model cover the data? The samples' radii shrink as N grows, so
    compare at equal N (the floor uses as many real rows as there are samples).

    Parameters
    ----------
    samples : (N, D), N > k
    reference : (M, D)

    Returns
    -------
    float in [0, 1]
    """
    return float(inside_knn_balls(reference, samples, k).any(axis=1).mean())


def density(samples: np.ndarray, reference: np.ndarray, k: int = DENSITY_COVERAGE_K) -> float:
    """Density: how many real balls hold each sample, over k. Nearest real data's is best.

    density = 1/(kN) Σ_j Σ_i 1[‖s_j − r_i‖ ≤ NND_k(r_i)]   (Naeem et al. 2020, eq. 3).
    About 1 when samples follow the data; below 1 for samples off the data (worse
    fidelity); above 1 when they crowd its dense regions (not better): not bounded by 1,
    unlike precision.

    Parameters
    ----------
    samples : (N, D)
    reference : (M, D), M > k

    Returns
    -------
    float >= 0
    """
    return float(inside_knn_balls(samples, reference, k).sum() / (k * len(samples)))


def coverage(samples: np.ndarray, reference: np.ndarray, k: int = DENSITY_COVERAGE_K) -> float:
    """Coverage: the share of real balls holding at least one sample. Higher is better.

    coverage = (1/M) Σ_i 1[∃ j: ‖s_j − r_i‖ ≤ NND_k(r_i)]   (Naeem et al. 2020, eq. 4).
    Built on the real rows' balls only, so a few outlying samples cannot inflate it as
    they inflate recall.

    Parameters
    ----------
    samples : (N, D)
    reference : (M, D), M > k

    Returns
    -------
    float in [0, 1]
    """
    return float(inside_knn_balls(samples, reference, k).any(axis=0).mean())


def histogram(indices: np.ndarray, num_bins: int) -> np.ndarray:
    """Share of ``indices`` (ints in 0..num_bins−1) in each bin: (num_bins,) float64."""
    indices = np.asarray(indices)
    if indices.ndim != 1 or len(indices) == 0:
        raise ValueError(f"indices must be a non-empty 1-D array; got shape {indices.shape}")
    if indices.min() < 0 or indices.max() >= num_bins:
        raise ValueError(f"indices must lie in 0..{num_bins - 1}; got values from "
                         f"{indices.min()} to {indices.max()}")
    return np.bincount(indices, minlength=num_bins) / len(indices)


def kl_to_uniform(probabilities: np.ndarray) -> float:
    """KL(p ‖ uniform) = Σ_k p_k log(K p_k) in nats, 0·log 0 = 0. Lower is better.

    0 when every bin is equally used, log K when one bin takes everything (mode collapse).

    Parameters
    ----------
    probabilities : (K,) non-negative, summing to 1

    Returns
    -------
    float in [0, log K]
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    used = probabilities > 0
    return float(np.sum(probabilities[used] * np.log(len(probabilities) * probabilities[used])))


def median_nn_distance(points: np.ndarray, train: np.ndarray) -> float:
    """Median distance from each row of ``points`` to its nearest row of ``train``.

    Memorisation (cf. Theis et al. 2016 on nearest neighbours): samples much nearer the
    training set than held-out real data is (the floor, test → train) are copies; much
    farther, poor fidelity. Neither direction is better: closer to the floor is.

    Parameters
    ----------
    points : (N, D)
    train : (M, D)

    Returns
    -------
    float >= 0
    """
    points = _as_features("points", points)
    train = _as_features("train", train)
    _check_same_dimension(points, train)
    return float(np.median(pairwise_distances(points, train).min(axis=1)))
