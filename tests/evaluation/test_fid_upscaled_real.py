"""The upscaled real set of the fidelity protocol: area down, 8 bits, bicubic up, from the floor's images (never
the reference's), and its row in scripts/fid_protocol.py, with FID itself faked (no Inception run)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from giraffehd.evaluation.quality import fid
from giraffehd.evaluation.quality.fid import QualityScores
from giraffehd.evaluation.quality.fid_floor import reference_set
from giraffehd.evaluation.quality.fid_protocol import protocol_deviations
from giraffehd.evaluation.quality.fid_resize import resize_images
from giraffehd.evaluation.quality.fid_upscaled_real import area_downsample, upscaled_real_sampler

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fid_protocol.py"


def test_area_downsampling_averages_blocks_and_keeps_8_bit_levels():
    images = torch.zeros(1, 3, 4, 4)
    images[..., :2, :2] = 1.0
    images[..., 2:, 2:] = 0.5
    low = area_downsample(images, 2)
    torch.testing.assert_close(low[0, 0] * 255, torch.tensor([[255.0, 0.0], [0.0, 128.0]]))  # 127.5 rounds up
    with pytest.raises(ValueError, match="from 1 to 4 px, got 8"):
        area_downsample(images, 8)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def test_the_sampler_reads_its_files_in_order_down_then_up(tmp_path):
    rng = np.random.default_rng(0)
    noisy = [write_png(tmp_path / f"{i}.png", rng.integers(0, 256, (32, 32, 3))) for i in range(3)]
    flat = write_png(tmp_path / "flat.png", np.full((32, 32, 3), 90))
    images = upscaled_real_sampler([*noisy, flat], 8, 32)
    batch = images(1, 3)
    assert batch.shape == (3, 3, 32, 32) and batch.min() >= 0 and batch.max() <= 1
    second = torch.from_numpy(np.array(Image.open(noisy[1]))).permute(2, 0, 1)[None].float() / 255
    torch.testing.assert_close(batch[:1], resize_images(area_downsample(second, 8), 32))
    torch.testing.assert_close(batch[2], torch.full((3, 32, 32), 90 / 255))  # a flat image stays flat
    assert not torch.allclose(batch[0], second[0])  # detail is lost on the way down
    with pytest.raises(ValueError, match=r"images 2..4 asked of 4 real images"):
        images(2, 3)
    with pytest.raises(ValueError, match="from 1 to 32 px, got 64"):
        upscaled_real_sampler(noisy, 64, 32)


def _script():
    spec = importlib.util.spec_from_file_location("fid_protocol", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_quality(monkeypatch):
    """compute_quality without Inception: it keeps the images each row's sampler gives and returns fixed figures."""
    seen = []

    def compute_quality(sample_images, num_samples, reference, weights=None, *, seed=0, resize_to=None, **kwargs):
        images = sample_images(0, num_samples)
        seen.append(images)
        with Image.open(reference.files[0]) as first:
            reference_size = (first.height, first.width)
        return QualityScores(
            fid=10.0 + len(seen),
            kid=0.01,
            kid_std=0.001,
            num_samples=num_samples,
            num_reference=len(reference.files),
            mode="clean",
            weights=str(weights),
            weights_sha256="0",
            reference_cache="none",
            resize_to=resize_to,
            floor_fid=1.0,
            floor_kid=0.0,
            floor_kid_std=0.0,
            floor_source=reference.floor_source,
            deviations=protocol_deviations(
                num_samples, len(reference.files), reference.num_in_set, tuple(images.shape[-2:]), reference_size, True
            ),
        )

    monkeypatch.setattr(fid, "compute_quality", compute_quality)
    return seen


def test_the_script_adds_the_upscaled_real_row_after_the_floor(images, tmp_path, capsys, fake_quality):
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"not read: FID is faked")
    output = tmp_path / "fid.md"
    options = ["--num-samples", "4", "--weights", str(weights), "--output", str(output)]
    assert _script().main([str(images.parent), "--upscaled-real", "16", *options]) == 0
    (made,) = fake_quality
    reference = reference_set(images.parent, None, 4)
    torch.testing.assert_close(made, upscaled_real_sampler(reference.floor_files, 16, 32)(0, 4))
    assert not set(reference.floor_files[:4]) & set(reference.files)  # real images, none of them the reference's
    record = json.loads(output.with_suffix(".json").read_text())
    row = record["upscaled_real"]
    assert row["images"].startswith("16 px real images, bicubic to 32 px (4 real images not in the reference")
    assert row["low_size"] == 16 and row["fid"] == 11.0 and record["rows"] == []
    assert row["protocol"] == "NOT the fidelity protocol: 4 generated images (protocol: at least 2000)"
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert lines[1].startswith("| real, not in the reference (floor)") and lines[2].startswith("| 16 px real images")


def test_the_upscaled_real_row_needs_the_floor_and_something_to_score(images, capsys, fake_quality):
    assert _script().main([str(images.parent), "--upscaled-real", "16", "--no-floor"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("fid_protocol: error: --upscaled-real") and "drop --no-floor" in error
    assert _script().main([str(images.parent)]) == 2
    assert "name at least one CHECKPOINT, or --upscaled-real" in capsys.readouterr().err
    assert fake_quality == []


def test_checkpoints_may_follow_the_options(images, capsys, fake_quality):
    # Parsed (not "unrecognized arguments"): the run then stops at the missing checkpoint, by name.
    assert _script().main([str(images.parent), "--upscaled-real", "16", "missing/model.pt"]) == 2
    assert "missing/model.pt" in capsys.readouterr().err
    assert fake_quality == []
