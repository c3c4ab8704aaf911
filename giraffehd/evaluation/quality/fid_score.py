"""FID and KID of two sets of Inception features: pure functions, by clean-fid's formulas.

- FID: the Fréchet distance of the Gaussians fitted to both sets (``cleanfid.fid.fid_from_feats``), computed in
  coordinates of the features' own span (exact, and far cheaper than 2048 x 2048 when there are fewer images).
- KID: the unbiased squared MMD under the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, averaged over
  random subsets of min(num_samples, num_reference, max_subset_size) images of each set; its spread over the
  subsets is reported too. The subsets are drawn as ``cleanfid.fid.kernel_distance`` draws them, from the
  given ``rng``, so one seed gives clean-fid's own figure.
Axis legend: N generated images, M real images, D feature dimensions, K span dimensions.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from cleanfid.fid import fid_from_feats
from jaxtyping import Float


@dataclass(frozen=True)
class KernelDistance:
    """KID over ``num_subsets`` subsets of ``subset_size`` images of each set."""

    mean: float  # as cleanfid.fid.compute_kid reports KID
    std: float  # standard deviation of the per-subset estimates
    num_subsets: int
    subset_size: int


def span_coordinates(
    sample: Float[np.ndarray, "N D"], reference: Float[np.ndarray, "M D"]
) -> tuple[Float[np.ndarray, "N K"], Float[np.ndarray, "M K"]]:
    """Both feature sets in an orthonormal basis of the span of all their vectors (K = min(N + M, D) axes).

    Means, covariances and their differences all lie in that span, so FID is unchanged (an isometry), while
    the matrix square root shrinks from D x D to K x K.
    """
    stacked = np.concatenate([sample, reference]).astype(np.float64)
    if len(stacked) >= stacked.shape[1]:
        return sample, reference
    basis, _ = np.linalg.qr(stacked.T)
    return sample @ basis, reference @ basis


def fid_from_features(sample: Float[np.ndarray, "N D"], reference: Float[np.ndarray, "M D"]) -> float:
    """Fréchet Inception distance: |mu_1 - mu_2|^2 + Tr(C_1 + C_2 - 2 (C_1 C_2)^(1/2))."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)  # fewer images than axes: singular covariances
        return float(fid_from_feats(*span_coordinates(sample, reference)))


def subset_kid(sample: Float[np.ndarray, "m D"], reference: Float[np.ndarray, "m D"]) -> float:
    """Unbiased squared MMD of two equal-sized sets under (x.y / D + 1)^3 (clean-fid's expression and order)."""
    m, dim = sample.shape
    within = (sample @ sample.T / dim + 1) ** 3 + (reference @ reference.T / dim + 1) ** 3
    across = (sample @ reference.T / dim + 1) ** 3
    return float(((within.sum() - np.diag(within).sum()) / (m - 1) - across.sum() * 2 / m) / m)


def kid_from_features(
    sample: Float[np.ndarray, "N D"],
    reference: Float[np.ndarray, "M D"],
    rng: np.random.RandomState,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
) -> KernelDistance:
    """Kernel Inception distance over ``num_subsets`` random subsets drawn from ``rng``.

    ``rng`` is NumPy's legacy generator because clean-fid draws its subsets with the legacy ``choice``:
    ``np.random.RandomState(seed)`` reproduces clean-fid's KID under ``np.random.seed(seed)``.
    """
    m = min(len(sample), len(reference), max_subset_size)
    kids = []
    for _ in range(num_subsets):
        sample_subset = sample[rng.choice(len(sample), m, replace=False)]
        reference_subset = reference[rng.choice(len(reference), m, replace=False)]
        kids.append(subset_kid(sample_subset, reference_subset))
    return KernelDistance(float(np.mean(kids)), float(np.std(kids)), num_subsets, m)
