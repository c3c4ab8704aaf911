import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from giraffehd.config_types import CONF_DIR
from giraffehd.evaluation.car.cli import run
from giraffehd.evaluation.car.evaluator import EvaluatorError, save_evaluator
from giraffehd.evaluation.car.evaluator_training import EvaluatorTraining, train_evaluator
from giraffehd.evaluation.labels import DatasetError, read_dataset
from giraffehd.torch_files import CheckpointError

QUICK = ["num_seeds=2", "sweep_steps=4", "num_samples=4", "batch_size=8", "threads=1"]


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("eval", list(overrides))


@pytest.fixture(scope="module")
def evaluator_file(images, tmp_path_factory):
    """An evaluator trained for one short epoch on the `images` dataset: enough to check the plumbing."""
    settings = EvaluatorTraining(channels=(4, 4, 4, 4), hidden_dim=8, epochs=1, batch_size=8, heldout_fraction=0.25)
    evaluator, report = train_evaluator(read_dataset(images.parent), settings, progress=False)
    return save_evaluator(evaluator, report, tmp_path_factory.mktemp("evaluator") / "evaluator.pt")


def test_the_scorecard_is_written_and_deterministic(tiny_run, images, evaluator_file, tmp_path):
    common = [f"checkpoint={tiny_run}", f"evaluator={evaluator_file}", f"dataset={images.parent}", *QUICK]
    first = run(config(*common, f"output_dir={tmp_path / 'a'}"))
    run(config(*common, f"output_dir={tmp_path / 'b'}"))
    card = json.loads((first / "scorecard.json").read_text())
    assert card == json.loads((tmp_path / "b" / "scorecard.json").read_text())
    metrics = card["metrics"]
    assert {"object_rotation", "camera_elevation", "background_stability", "mask_iou"} <= metrics.keys()
    assert metrics["object_translation_y"]["status"].startswith("not applicable")
    assert set(metrics["object_rotation"]) >= {"model", "floor", "chance", "unit", "swept"}
    text = (first / "scorecard.md").read_text()
    assert "| object rotation error (mean) |" in text and "held-out errors (6 real images)" in text


def test_the_quality_hook_records_not_available_when_it_cannot_run(tiny_run, images, evaluator_file, tmp_path):
    overrides = [f"checkpoint={tiny_run}", f"evaluator={evaluator_file}", f"dataset={images.parent}", *QUICK]
    overrides += ["metrics=[rotation,fid]", "fid.weights=/nonexistent/inception.pt", "fid.num_samples=2"]
    output = run(config(*overrides, f"output_dir={tmp_path}"))
    fid = json.loads((output / "scorecard.json").read_text())["metrics"]["fid"]
    assert fid["status"] == "not available" and fid["reason"]


def test_bad_inputs_are_named_before_work_starts(tiny_run, images, evaluator_file, tmp_path):
    good = {"checkpoint": tiny_run, "evaluator": evaluator_file, "dataset": images.parent}
    labels = json.loads((images.parent / "labels.json").read_text())
    other = tmp_path / "other_palette"
    other.mkdir()
    (other / "labels.json").write_text(json.dumps({**labels, "palette": {"green": [0.1, 0.6, 0.2]}}))
    cases = [
        ("checkpoint", tmp_path / "missing_run", CheckpointError),
        ("evaluator", tmp_path / "missing.pt", EvaluatorError),
        ("dataset", images, DatasetError),  # the image folder has no labels.json
        ("dataset", other, DatasetError),  # the evaluator was trained on another palette: wrong dataset
    ]
    for key, bad, error in cases:
        overrides = [f"{k}={bad if k == key else v}" for k, v in good.items()]
        with pytest.raises(error, match=Path(bad).name):
            run(config(*overrides, f"output_dir={tmp_path / 'out'}", *QUICK))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("fid.num_samples=1", "fid.num_samples must be at least 2"),
        ("metrics=[]", "metrics is empty: name at least one of rotation"),
        ("azimuth_if_fixed=[45,-45]", r"azimuth_if_fixed must be \[low, high\] degrees with low < high"),
        ("azimuth_if_fixed=[45]", r"azimuth_if_fixed must be \[low, high\] degrees or null"),
        ("background_mask_threshold=5", r"background_mask_threshold must lie in \(0, 1\)"),
    ],
)
def test_settings_that_cannot_measure_anything_are_refused_before_any_work(tmp_path, override, message):
    with pytest.raises(ValueError, match=message):
        run(config("checkpoint=models/demo_car_64.pt", override, f"output_dir={tmp_path / 'out'}"))
    assert not (tmp_path / "out").exists()


def test_the_command_exits_2_with_one_line(tmp_path):
    command = [sys.executable, "-m", "giraffehd.evaluation.car.cli", f"checkpoint={tmp_path / 'nope'}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"giraffehd-eval: error: checkpoint not found: {tmp_path / 'nope'}"]


def test_render_and_match_reads_rotation_and_elevation_and_keeps_its_candidates(
    tiny_run, images, evaluator_file, tmp_path
):
    cache = tmp_path / "cache"
    overrides = [f"checkpoint={tiny_run}", f"evaluator={evaluator_file}", f"dataset={images.parent}", *QUICK]
    overrides += ["metrics=[rotation,elevation]", "render_match.enabled=true", "render_match.heading_step_deg=90"]
    overrides += ["render_match.elevation_step_deg=15", "render_match.resolution=16", f"render_match.cache_dir={cache}"]
    output = run(config(*overrides, f"output_dir={tmp_path / 'out'}"))
    card = json.loads((output / "scorecard.json").read_text())
    assert list(card["metrics"]) == [
        "object_rotation",
        "object_rotation_render_and_match",
        "camera_elevation",
        "camera_elevation_render_and_match",
    ]
    matched = card["metrics"]["camera_elevation_render_and_match"]
    assert {"model", "floor", "floor_degraded", "chance"} <= matched.keys() and matched["reader"] == "render-and-match"
    assert card["render_match"].startswith("4 headings every 90 deg") and len(list(cache.iterdir())) == 1
    assert card["protocol"]["degradation"]["blur_sigma_px"] == 1.0
    text = (output / "scorecard.md").read_text()
    assert "| camera elevation error (mean, one global offset), render-and-match |" in text
