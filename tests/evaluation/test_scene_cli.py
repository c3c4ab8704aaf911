import json
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from scene_sets import CLASSES, PALETTE, scenes_set

from giraffehd.config_types import CONF_DIR
from giraffehd.evaluation.labels import DatasetError
from giraffehd.evaluation.scenes.cli import run
from giraffehd.evaluation.scenes.evaluator import SceneEvaluator, save_scene_evaluator
from giraffehd.torch_files import CheckpointError

QUICK = ["num_scenes=3", "sweep_steps=3", "min_separation_px=4", "batch_size=8", "threads=1"]


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("eval_scenes", list(overrides))


@pytest.fixture(scope="module")
def scenes_dataset(tmp_path_factory):
    return scenes_set(tmp_path_factory.mktemp("data") / "scenes", 12)


@pytest.fixture(scope="module")
def scenes_run(scenes_dataset, tiny_train_config, tmp_path_factory):
    """A tiny 3-slot model trained for 4 steps (plumbing only)."""
    from giraffehd.train import train

    objects = ["objects.num_objects=3", "objects.min_objects=2", "objects.translation=[[-0.5,0.5],[0,0],[-0.5,0.5]]"]
    camera = ["camera.elevation_deg=[25,40]", "camera.fov_deg=[30,30]"]
    run_dir = tmp_path_factory.mktemp("scenes_run") / "run"
    return train(tiny_train_config(scenes_dataset / "images", run_dir, *objects, *camera))


@pytest.fixture(scope="module")
def scene_evaluator_file(tmp_path_factory):
    """An untrained scene evaluator for the dataset's classes and colours: the plumbing, not the figures."""
    evaluator = SceneEvaluator(CLASSES, list(PALETTE), resolution=32, channels=(4, 4, 4, 4))
    return save_scene_evaluator(evaluator, tmp_path_factory.mktemp("evaluator") / "scene_evaluator.pt")


def test_the_scene_scorecard_is_written_and_deterministic(scenes_run, scenes_dataset, scene_evaluator_file, tmp_path):
    common = [f"checkpoint={scenes_run}", f"evaluator={scene_evaluator_file}", f"dataset={scenes_dataset}", *QUICK]
    first = run(config(*common, f"output_dir={tmp_path / 'a'}"))
    run(config(*common, f"output_dir={tmp_path / 'b'}"))
    card = json.loads((first / "scorecard.json").read_text())
    assert card == json.loads((tmp_path / "b" / "scorecard.json").read_text())
    assert {"count", "translation", "isolation", "colour", "shapes"} == card["model"].keys() == card["floor"].keys()
    assert card["floor"]["shapes"]["data_shares"].keys() == set(CLASSES)
    assert list(card["model"]["count"]["per_count"]) == ["0", "1", "2", "3"]
    assert [r["edit"] for r in card["model"]["isolation"]] == ["move", "recolour", "remove"]
    text = (first / "scorecard.md").read_text()
    assert "| the background alone read as empty |" in text and "| count read right, 3 objects |" in text
    assert "| recoloured object reads as its partner's colour |" in text
    assert "| shapes read (" in text and "total variation |" in text


def test_bad_inputs_are_named_in_one_line(scenes_run, scenes_dataset, scene_evaluator_file, tiny_run, tmp_path):
    good = [f"evaluator={scene_evaluator_file}", f"dataset={scenes_dataset}", *QUICK, f"output_dir={tmp_path}"]
    with pytest.raises(CheckpointError, match="draws one object; score it with giraffehd-eval"):
        run(config(f"checkpoint={tiny_run}", *good))
    other = SceneEvaluator(CLASSES, ["green"], resolution=32, channels=(4, 4, 4, 4))
    other_file = save_scene_evaluator(other, tmp_path / "other.pt")
    with pytest.raises(DatasetError, match=r"colours \['green'\].*wrong dataset"):
        run(config(f"checkpoint={scenes_run}", *good, f"evaluator={other_file}"))
    with pytest.raises(ValueError, match="metrics: unknown 'speed'"):
        run(config(f"checkpoint={scenes_run}", *good, "metrics=[count,speed]"))
    result = subprocess.run(
        [sys.executable, "-m", "giraffehd.evaluation.scenes.cli", f"checkpoint={scenes_run}", *good,
         f"evaluator={tmp_path / 'missing.pt'}"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"giraffehd-eval-scenes: error: scene evaluator not found: {tmp_path / 'missing.pt'} "
        f"(train one with: giraffehd-train-scene-evaluator output={tmp_path / 'missing.pt'})"
    ]
