"""FID and KID from features against closed forms, and against clean-fid's own functions."""

import numpy as np
import pytest
from cleanfid.fid import fid_from_feats, kernel_distance

from giraffehd.evaluation.quality.fid_score import fid_from_features, kid_from_features, span_coordinates, subset_kid


def features(rows: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dim))


@pytest.mark.parametrize(("rows", "dim"), [(40, 8), (12, 256)])  # more images than axes, and fewer
def test_fid_of_a_set_with_itself_is_zero(rows, dim):
    x = features(rows, dim, 0)
    assert fid_from_features(x, x) == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize(("rows", "dim"), [(40, 8), (12, 256)])
def test_a_mean_shift_adds_its_squared_norm(rows, dim):
    x, shift = features(rows, dim, 1), features(1, dim, 2)[0]
    assert fid_from_features(x, x + shift) == pytest.approx(shift @ shift, rel=1e-6)
    assert fid_from_features(x + shift, x) == pytest.approx(shift @ shift, rel=1e-6)


def test_scaling_about_the_mean_gives_one_minus_the_scale_squared_times_the_trace():
    x = features(60, 6, 3)
    mean, scale = x.mean(axis=0), 0.4
    trace = np.trace(np.cov(x, rowvar=False))  # Tr(C + a^2 C - 2 a C) = (1 - a)^2 Tr(C)
    assert fid_from_features(x, mean + scale * (x - mean)) == pytest.approx((1 - scale) ** 2 * trace, rel=1e-6)


def test_fid_in_the_span_of_the_features_equals_clean_fids_full_computation():
    sample, real = features(12, 256, 4), features(20, 256, 5) + 0.05
    reduced = span_coordinates(sample, real)
    assert reduced[0].shape == (12, 32) and reduced[1].shape == (20, 32)
    assert fid_from_features(sample, real) == pytest.approx(fid_from_feats(sample, real), rel=1e-6)


def unbiased_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """Squared MMD under (x.y / D + 1)^3, term by term: mean over i != j of k(x_i, x_j) and k(y_i, y_j),
    minus twice the mean of k(x_i, y_j) over all pairs."""
    m, dim = x.shape

    def k(a, b):
        return (a @ b / dim + 1) ** 3

    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    return within - 2 * across


def test_subset_kid_is_the_unbiased_squared_mmd():
    x, y = features(7, 5, 6), features(7, 5, 7) + 0.3
    assert subset_kid(x, y) == pytest.approx(unbiased_mmd(x, y), rel=1e-10)
    # Both sets the same m vectors: 2/m (O/(m-1) - (O+D)/m), O and D the off-diagonal and diagonal kernel sums.
    kernel = (x @ x.T / 5 + 1) ** 3
    diagonal, off_diagonal = np.trace(kernel), kernel.sum() - np.trace(kernel)
    assert subset_kid(x, x) == pytest.approx(2 / 7 * (off_diagonal / 6 - (off_diagonal + diagonal) / 7), rel=1e-10)


def test_kid_over_whole_sets_has_no_spread():
    x, y = features(9, 4, 8), features(9, 4, 9)
    kid = kid_from_features(x, y, np.random.RandomState(0), num_subsets=5)
    assert kid.subset_size == 9 and kid.num_subsets == 5
    assert kid.mean == pytest.approx(unbiased_mmd(x, y), rel=1e-10) and kid.std == pytest.approx(0, abs=1e-12)


def test_kid_is_seeded_by_its_rng_and_matches_clean_fid_under_the_same_seed():
    sample, real = features(10, 2048, 10).astype(np.float32), features(30, 2048, 11).astype(np.float32)
    first = kid_from_features(sample, real, np.random.RandomState(3), num_subsets=20)
    assert first == kid_from_features(sample, real, np.random.RandomState(3), num_subsets=20)
    assert first.std > 0 and first.subset_size == 10  # subsets of 10 out of 30 differ: a spread
    state = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(3)  # noqa: NPY002
        expected = kernel_distance(real, sample, num_subsets=20)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    assert first.mean == pytest.approx(expected, rel=1e-6)
