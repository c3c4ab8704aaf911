"""Scene files are input: every bad one is refused in one line naming the file, the field and the value,
and a value the model never saw in training is rendered with a note."""

import json
import os
import sys

import pytest
import torch

from giraffehd.scene import ScenePrior
from giraffehd.scene_file import SceneFileError, read_scene_file
from giraffehd.scene_json import scene_to_json

PRIOR = ScenePrior(num_objects=2, z_dim=4)
MODEL = "models/demo_car_64.pt"


def _record() -> dict:
    return scene_to_json(PRIOR.sample(1, torch.Generator().manual_seed(0)))[0]


def _write(tmp_path, content, name="scene.json") -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_a_written_scene_reads_back_exactly_with_its_settings_and_no_notes(tmp_path):
    scene = PRIOR.sample(3, torch.Generator().manual_seed(1))
    path = _write(tmp_path, {"scene": scene_to_json(scene), "truncation_psi": 0.7, "batch_size": 2})
    read = read_scene_file(path, PRIOR)
    assert torch.equal(read.scene.object_shape, scene.object_shape) and read.scene.batch_size == 3
    assert (read.truncation_psi, read.batch_size, read.notes) == (0.7, 2, ())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"camera_radius": -1.0}, "camera_radius must be positive, got -1.0"),
        ({"camera_fov_deg": 180.0}, r"camera_fov_deg must lie in \(0, 180\) degrees, got 180.0"),
        ({"camera_elevation_deg": 120.0}, r"camera_elevation_deg must lie in \[-89, 89\] degrees, got 120.0"),
        ({"object_scale": [[-0.2, 0.2, 0.2], [0.2, 0.2, 0.2]]}, "object_scale of object 0 must be positive"),
        ({"object_shape": [[0.0] * 3, [0.0] * 4]}, "object_shape must be a list of 4 for this model, got 3 entries"),
        ({"object_rotation_deg": [0.0]}, "object_rotation_deg must be a list of 2 for this model, got 1 entries"),
        ({"camera_radius": "far"}, "camera_radius must hold finite numbers, got 'far'"),
        ({"camera_radius": [2.7]}, "camera_radius must hold finite numbers, got \\[2.7\\]"),
        ({"object_present": [1, 0]}, "object_present entries must be true or false, got 1"),
        ({"object_rotation_deg": [True, 0.0]}, "object_rotation_deg must hold finite numbers, got True"),
    ],
)
def test_each_bad_field_is_refused_naming_it(tmp_path, change, message):
    path = _write(tmp_path, {**_record(), **change})
    with pytest.raises(SceneFileError, match=f"^scene file {path}: {message}"):
        read_scene_file(path, PRIOR)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"camera_radius": NaN}', " holds NaN \\(not a finite number\\)"),
        ("[1, 2]", ", scene 0 is int 1, not a mapping of scene fields"),
        ("[]", " holds a list of 0, not a scene or a list of scenes"),
        ('"text"', " holds str 'text', not a scene"),
        ("{not json", " is not readable JSON"),
    ],
)
def test_files_that_are_not_scenes_are_refused_in_one_line(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(SceneFileError, match=f"^scene file {path}{message}"):
        read_scene_file(path, PRIOR)


def test_a_number_too_large_for_a_float_is_refused(tmp_path):
    text = json.dumps(_record()).replace(json.dumps(_record()["camera_radius"]), "1e400", 1)  # parses as inf
    with pytest.raises(SceneFileError, match="camera_radius must hold finite numbers, got inf"):
        read_scene_file(_write(tmp_path, text), PRIOR)


def test_missing_and_unknown_fields_are_named(tmp_path):
    record = _record()
    del record["camera_radius"]
    with pytest.raises(SceneFileError, match="misses camera_radius"):
        read_scene_file(_write(tmp_path, record), PRIOR)
    with pytest.raises(SceneFileError, match="has unknown fields zoom"):
        read_scene_file(_write(tmp_path, {**_record(), "zoom": 2}), PRIOR)
    with pytest.raises(SceneFileError, match="scene.json has 1 object slots, the model 2$"):  # another model's file
        read_scene_file(_write(tmp_path, {**_record(), "object_present": [True]}), PRIOR)


def test_a_named_pipe_or_a_folder_is_refused_without_being_opened(tmp_path):
    pipe = tmp_path / "scene.json"
    os.mkfifo(pipe)  # opening it for reading would wait for a writer forever
    with pytest.raises(SceneFileError, match="is not a regular file \\(a named pipe or device\\)"):
        read_scene_file(pipe, PRIOR)
    with pytest.raises(SceneFileError, match="is a folder"):
        read_scene_file(tmp_path, PRIOR)
    with pytest.raises(SceneFileError, match="scene file not found: "):
        read_scene_file(tmp_path / "nope.json", PRIOR)


def test_values_the_model_never_saw_are_rendered_with_one_note_each(tmp_path):
    record = {**_record(), "camera_elevation_deg": 40.0, "camera_radius": 2.732}
    record["object_appearance"] = [[9.0, 0.0, 0.0, 0.0], [0.0] * 4]
    read = read_scene_file(_write(tmp_path, record), PRIOR)
    assert len(read.notes) == 2
    assert "camera_elevation_deg 40 lies outside the model's training range [0, 9.594]" in read.notes[0]
    assert "object_appearance has an entry of magnitude 9" in read.notes[1]
    inside = {**_record(), "camera_elevation_deg": 12.0, "object_rotation_deg": [725.0, -30.0]}  # in the margin
    assert read_scene_file(_write(tmp_path, inside), PRIOR).notes == ()


@pytest.mark.parametrize("command", ["giraffehd.sweeps.cli", "giraffehd.mesh.cli"])
def test_the_commands_that_read_scenes_refuse_a_bad_one_in_one_line_and_write_nothing(
    tmp_path, monkeypatch, capsys, command
):
    import importlib

    from giraffehd.model_io import load_model

    prior = load_model(MODEL).prior
    good = scene_to_json(prior.sample(1, torch.Generator().manual_seed(0)))[0]
    path = _write(tmp_path, {**good, "camera_elevation_deg": float("nan")})
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["entry", f"checkpoint={MODEL}", f"scene={path}", f"output_dir={out}"])
    with pytest.raises(SystemExit) as stop:
        importlib.import_module(command).main()
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"error: scene file {path} holds NaN (not a finite number)")
    assert not out.exists()
