"""The fidelity protocol: its departures named, the floor scored beside the model (counts honoured, cache
reused), resized generators, the FID row of the scorecard, scripts/fid_protocol.py and giraffehd-eval's fid."""

import importlib.util
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from giraffehd.evaluation.car.scorecard_rows import FidRow
from giraffehd.evaluation.quality import fid_features
from giraffehd.evaluation.quality.fid import compute_quality
from giraffehd.evaluation.quality.fid_features import reference_files
from giraffehd.evaluation.quality.fid_floor import ReferenceSet
from giraffehd.evaluation.quality.fid_protocol import PROTOCOL_NUM_SAMPLES, describe_protocol, protocol_deviations

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fid_protocol.py"


def test_a_measurement_by_the_protocol_has_no_departures():
    assert PROTOCOL_NUM_SAMPLES == 2000
    assert protocol_deviations(2000, 10_000, 10_000, (256, 256), (256, 256), True) == ()
    assert describe_protocol(()) == "fidelity protocol"


def test_every_departure_from_the_protocol_is_named():
    deviations = protocol_deviations(256, 1000, 10_000, (256, 256), (64, 64), False)
    assert deviations == (
        "256 generated images (protocol: at least 2000)",
        "reference: 1000 of 10000 images (protocol: all)",
        "generated 256 px against 64 px real images (protocol: the same size)",
        "no real-against-real floor",
    )
    assert (
        describe_protocol(deviations[:1]) == "NOT the fidelity protocol: 256 generated images (protocol: at least 2000)"
    )


@pytest.fixture(scope="module")
def cars(images):
    """The 24 synthetic cars (32 px) as files, and the same images as floats in [0, 1]."""
    files = reference_files(images)
    pixels = torch.stack([torch.from_numpy(np.array(Image.open(f).convert("RGB"))) for f in files])
    return files, pixels.permute(0, 3, 1, 2).float() / 255


def sampler(images):
    return lambda start, count: images[start : start + count]


def test_the_floor_is_scored_like_a_model_on_its_first_num_samples_images_from_cache(cars, tmp_path, monkeypatch):
    files, images = cars
    reference = ReferenceSet(files[:8], 8, files[8:16], "the next 8 images")
    scores = compute_quality(sampler(images[16:]), 4, reference, progress=False, cache_dir=tmp_path)
    assert scores.num_samples == 4 and scores.num_reference == 8 and scores.floor_source == "the next 8 images"
    assert scores.deviations == ("4 generated images (protocol: at least 2000)",)
    cached = {p.name.split("-")[1] for p in tmp_path.iterdir()}
    assert cached == {"8", "4"}  # the reference, and the floor's first num_samples images
    # The floor is exactly what its images would score as samples, with the same KID subsets.
    as_samples = compute_quality(sampler(images[8:12]), 4, files[:8], progress=False, cache_dir=tmp_path)
    assert scores.floor_fid == pytest.approx(as_samples.fid, rel=1e-5)
    assert scores.floor_kid == pytest.approx(as_samples.kid, rel=1e-5, abs=1e-7)
    assert scores.floor_kid_std == pytest.approx(as_samples.kid_std, rel=1e-5, abs=1e-7)
    assert scores.fid != scores.floor_fid

    def no_extraction(*args, **kwargs):
        raise AssertionError("reference or floor features were extracted again")

    monkeypatch.setattr(fid_features, "file_features", no_extraction)
    assert compute_quality(sampler(images[16:]), 4, reference, progress=False, cache_dir=tmp_path) == scores


def test_resized_samples_are_scored_at_the_new_size_and_a_mismatch_is_named(cars, tmp_path):
    files, images = cars
    reference = ReferenceSet(files[:8], 8, files[8:16], "the next 8 images")
    scores = compute_quality(sampler(images[16:]), 4, reference, progress=False, cache_dir=tmp_path, resize_to=64)
    assert scores.resize_to == 64
    assert "generated 64 px against 32 px real images (protocol: the same size)" in scores.deviations
    same = compute_quality(sampler(images[16:]), 4, reference, progress=False, cache_dir=tmp_path, resize_to=32)
    assert not any("px" in d for d in same.deviations)
    with pytest.raises(ValueError, match="the floor has 8 real images, num_samples=9 needs as many"):
        compute_quality(sampler(images[12:]), 9, reference, progress=False, cache_dir=tmp_path)


def test_the_fid_row_shows_the_floor_beside_the_model_and_whether_it_is_the_protocol():
    common = dict(truncation_psi=1.0, fid=12.345, kid=0.0123, kid_std=0.0004, num_samples=2000, num_reference=10_000)
    common |= dict(mode="clean", weights="w.pt", weights_sha256="abc", reference_cache="c.npz")
    unchecked = FidRow(**common)  # built by hand, not by compute_quality: it claims nothing about the protocol
    assert "protocol" not in unchecked.to_markdown() and "protocol" not in unchecked.to_record()
    floor = dict(floor_fid=1.5, floor_kid=0.0001, floor_kid_std=0.0002, floor_source="2000 rendered")
    row = FidRow(**common, **floor, deviations=())
    line = row.to_markdown()
    assert "| FID 12.35, KID 0.0123 +- 0.0004 | FID 1.50, KID 0.0001 +- 0.0002 |" in line
    assert "floor: 2000 rendered" in line and line.rstrip(" |").endswith("fidelity protocol")
    assert row.to_record()["protocol"] == "fidelity protocol"
    quick = replace(row, num_samples=256, deviations=("256 generated images (protocol: at least 2000)",))
    assert "NOT the fidelity protocol: 256 generated images" in quick.to_markdown()
    assert json.loads(json.dumps(quick.to_record()))["deviations"] == list(quick.deviations)
    assert set(asdict(row)) <= set(row.to_record())


def _script():
    spec = importlib.util.spec_from_file_location("fid_protocol", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checkpoint_arguments_name_an_optional_size():
    parse = _script().parse_checkpoint
    assert parse("runs/x@256") == (Path("runs/x"), 256)
    assert parse("models/demo_car_64.pt") == (Path("models/demo_car_64.pt"), None)
    assert parse("odd@name/last.ckpt") == (Path("odd@name/last.ckpt"), None)


def test_the_script_prints_the_floor_first_then_each_checkpoint(images, tiny_run, tmp_path, capsys):
    output = tmp_path / "fid.md"
    options = ["--num-samples", "4", "--cache-dir", str(tmp_path / "cache"), "--output", str(output)]
    assert _script().main([str(images.parent), str(tiny_run), f"{tiny_run}@16", *options]) == 0
    record = json.loads(output.with_suffix(".json").read_text())
    floor, (model, resized) = record["floor"], record["rows"]
    assert floor["num_samples"] == model["num_samples"] == 4 and floor["num_reference"] == 24
    assert "seed 1" in floor["images"] and floor["fid"] > 0
    assert model["protocol"] == "NOT the fidelity protocol: 4 generated images (protocol: at least 2000)"
    assert resized["resize_to"] == 16 and "bicubic to 16 px" in resized["images"]
    assert "generated 16 px against 32 px real images" in resized["protocol"]
    text = capsys.readouterr().out
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert lines[1].startswith("| real, not in the reference (floor)") and len(lines) == 4
    assert output.read_text().strip() in text


def test_the_script_refuses_a_missing_checkpoint_in_one_line(images, tmp_path, capsys):
    missing = tmp_path / "missing.pt"
    assert _script().main([str(images.parent), str(missing), "--no-floor", "--num-samples", "4"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("fid_protocol: error:") and str(missing) in error and error.count("\n") == 1


@pytest.fixture(scope="module")
def evaluator_file(images, tmp_path_factory):
    """An evaluator trained for one short epoch on the `images` dataset: enough to check the plumbing."""
    from giraffehd.evaluation.car.evaluator import save_evaluator
    from giraffehd.evaluation.car.evaluator_training import EvaluatorTraining, train_evaluator
    from giraffehd.evaluation.labels import read_dataset

    settings = EvaluatorTraining(channels=(4, 4, 4, 4), hidden_dim=8, epochs=1, batch_size=8, heldout_fraction=0.25)
    evaluator, report = train_evaluator(read_dataset(images.parent), settings, progress=False)
    return save_evaluator(evaluator, report, tmp_path_factory.mktemp("evaluator") / "evaluator.pt")


def test_giraffehd_eval_reports_the_floor_and_the_protocol_in_the_fid_row(
    tiny_run, images, evaluator_file, tmp_path, monkeypatch
):
    from hydra import compose, initialize_config_dir

    from giraffehd.config_types import CONF_DIR
    from giraffehd.evaluation.car.cli import run

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    overrides = [f"checkpoint={tiny_run}", f"evaluator={evaluator_file}", f"dataset={images.parent}"]
    overrides += ["num_seeds=2", "sweep_steps=4", "num_samples=4", "batch_size=8", "threads=1"]
    overrides += ["metrics=[rotation,fid]", "fid.num_samples=4", "fid.resize_to=32", f"output_dir={tmp_path / 'eval'}"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("eval", overrides)
    assert cfg.fid.floor is True
    output = run(cfg)
    fid = json.loads((output / "scorecard.json").read_text())["metrics"]["fid"]
    assert fid["status"] == "ok" and fid["floor_fid"] > 0 and fid["resize_to"] == 32
    assert fid["protocol"] == "NOT the fidelity protocol: 4 generated images (protocol: at least 2000)"
    row = next(line for line in (output / "scorecard.md").read_text().splitlines() if line.startswith("| FID / KID"))
    assert "floor: 4 images rendered with seed 1" in row and "NOT the fidelity protocol" in row


def test_the_default_fid_settings_are_the_protocol():
    from hydra import compose, initialize_config_dir

    from giraffehd.config_types import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        settings = compose("eval").fid
    assert settings.num_samples == PROTOCOL_NUM_SAMPLES and settings.num_reference is None
    assert settings.floor is True and settings.resize_to is None
