"""giraffehd-train-scene-evaluator: trains and saves a scene evaluator for a synthetic set, refusing bad
inputs in one line; the old script says what replaced it."""

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from scene_sets import CLASSES, PALETTE, scenes_set

from giraffehd.config_types import CONF_DIR
from giraffehd.evaluation.labels import DatasetError
from giraffehd.evaluation.scenes.evaluator import load_scene_evaluator
from giraffehd.evaluation.scenes.evaluator_cli import run

TINY = [
    "training.num_train=16", "training.epochs=1", "training.batch_size=8", "training.heldout_per_count=2",
    "check_images=2", "dataset_scenes=4", "threads=1",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train_scene_evaluator", list(overrides))


@pytest.fixture(scope="module")
def scenes_dataset(tmp_path_factory):
    return scenes_set(tmp_path_factory.mktemp("data") / "scenes", 8)


def test_an_evaluator_is_trained_saved_and_reported(scenes_dataset, tmp_path, capsys):
    output = tmp_path / "evaluator.pt"
    report = tmp_path / "report.md"
    assert run(config(f"dataset={scenes_dataset}", f"output={output}", f"report={report}", *TINY)) == output
    evaluator = load_scene_evaluator(output)
    assert evaluator.classes == CLASSES and evaluator.palette == list(PALETTE)
    assert evaluator.report["dataset"]["path"] == str(scenes_dataset) and evaluator.report["training"]["steps"] == 2
    text = report.read_text()
    assert text.startswith(f"# Scene evaluator {output}") and "Command: `giraffehd-train-scene-evaluator" in text
    with pytest.raises(ValueError, match="exists: pass overwrite=true to replace it"):
        run(config(f"dataset={scenes_dataset}", f"output={output}", *TINY))


def test_bad_inputs_are_one_line_before_any_training(scenes_dataset, tmp_path):
    with pytest.raises(DatasetError, match="has no labels.json: not a synthetic dataset"):
        run(config(f"dataset={tmp_path}", f"output={tmp_path / 'e.pt'}", *TINY))
    with pytest.raises(ValueError, match="must differ from the set's seed"):
        run(config(f"dataset={scenes_dataset}", f"output={tmp_path / 'e.pt'}", *TINY, "training.scene_seed=0"))
    with pytest.raises(ValueError, match="dataset_scenes must be an integer of at least 1, got 0"):
        run(config(f"dataset={scenes_dataset}", f"output={tmp_path / 'e.pt'}", *TINY, "dataset_scenes=0"))
    with pytest.raises(ValueError, match="is a folder: name the evaluator file"):
        run(config(f"dataset={scenes_dataset}", f"output={tmp_path}", *TINY))
    assert not (tmp_path / "e.pt").exists()


def test_the_old_script_prints_the_new_command_and_fails():
    script = ROOT / "scripts" / "train_scene_evaluator.py"
    done = subprocess.run(
        [sys.executable, str(script), "--dataset", "data/x", "--output=m.pt", "--epochs", "3", "--threads", "1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "scripts/train_scene_evaluator.py is replaced by a console script: giraffehd-train-scene-evaluator "
        "dataset=data/x output=m.pt training.epochs=3 threads=1"
    )


def test_the_command_answers_a_bad_input_in_one_line_with_status_2(monkeypatch, capsys, tmp_path):
    from giraffehd.evaluation.scenes import evaluator_cli

    monkeypatch.setattr(sys, "argv", ["giraffehd-train-scene-evaluator", f"dataset={tmp_path}", "training.epochs=two"])
    with pytest.raises(SystemExit) as stop:
        evaluator_cli.main()
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("giraffehd-train-scene-evaluator: error: training.epochs")
