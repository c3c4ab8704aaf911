"""giraffehd-render end to end, from a checkpoint written by a short training run, and its refusals."""

import json
import re
import sys

import imageio.v3 as iio
import pytest
import torch
from PIL import Image

from giraffehd.model_io import load_model
from giraffehd.scene_json import scene_from_json
from giraffehd.sweeps import cli
from giraffehd.sweeps.api import render, sample_rows
from giraffehd.sweeps.job import RenderOptions, run_sweeps, sweep_frames
from giraffehd.sweeps.plan import SWEEP_NAMES, plan_sweeps
from giraffehd.torch_files import load_checkpoint_file

SAMPLES, STEPS, FRAMES, FPS = 2, 3, 4, 24
# Knobs that the tiny run's prior (the synthetic car set's) fixes: sweeping them needs a range.
RANGES = {"azimuth": "[-20,20]", "radius": "[2.5,3]", "translation_y": "[0,0.1]", "scale": "[0.8,1.2]"}


def _main(*arguments: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["giraffehd-render", *arguments])
        cli.main()


@pytest.fixture(scope="module")
def rendered(tiny_run, tmp_path_factory):
    """Every sweep of the tiny run, through the command line (mask, depth, MP4 and GIF)."""
    out = tmp_path_factory.mktemp("render")
    _main(
        f"checkpoint={tiny_run}",
        f"output_dir={out}",
        f"sweeps=[{','.join(SWEEP_NAMES)}]",
        *(f"sweep.{name}={value}" for name, value in RANGES.items()),
        f"samples={SAMPLES}",
        "seed=7",
        f"steps={STEPS}",
        f"frames={FRAMES}",
        "truncation_psi=0.7",
        "video_formats=[mp4,gif]",
        "mask=true",
        "depth=true",
        "batch_size=5",
    )
    return out


@pytest.mark.parametrize("name", SWEEP_NAMES)
def test_each_sweep_writes_a_grid_a_video_maps_and_its_scenes(rendered, name):
    columns = {"objects": 2, "remove": 2}.get(name, STEPS)  # one object: none then the object, or the reverse
    held = STEPS * (FRAMES // STEPS)  # discrete sweeps hold each choice for FRAMES // choices frames
    frames = {"objects": 2 * (FRAMES // 2), "remove": 2 * (FRAMES // 2), "background": held, "recolour": held}
    frames = frames.get(name, FRAMES)
    size = (SAMPLES * 34 + 2, columns * 34 + 2, 3)  # 32 px tiles, 2 px padding
    for suffix in ("", "_mask", "_depth"):
        assert iio.imread(rendered / f"{name}{suffix}.png").shape == size
    video = iio.imread(rendered / f"{name}.mp4")
    assert video.shape == (frames, 32, SAMPLES * 32, 3)  # the seeds side by side
    assert iio.immeta(rendered / f"{name}.mp4")["fps"] == FPS
    gif = Image.open(rendered / f"{name}.gif")
    durations = [gif.seek(k) or gif.info["duration"] for k in range(gif.n_frames)]  # ms, 10 ms steps
    assert gif.size == (SAMPLES * 32, 32)  # (the writer merges repeated frames, keeping the time)
    assert abs(sum(durations) - frames * 1000 / FPS) <= 2 * frames
    doc = json.loads((rendered / f"{name}.json").read_text())
    assert doc["seeds"] == [7, 8] and len(doc["grid"]) == SAMPLES * columns and len(doc["video"]) == SAMPLES * frames


def test_a_frame_re_renders_exactly_from_its_json(rendered, tiny_run):
    model = load_model(tiny_run)
    doc = json.loads((rendered / "elevation.json").read_text())
    grid = iio.imread(rendered / "elevation.png")
    for entry in (doc["grid"][4], doc["grid"][0]):
        image = render(model.generator, scene_from_json(entry["scene"]), doc["truncation_psi"], doc["batch_size"]).image
        top, left = 2 + 34 * entry["row"], 2 + 34 * entry["column"]
        tile = grid[top : top + 32, left : left + 32]
        assert (image[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy().tolist() == tile.tolist()
    # And bit for bit against the frame as rendered within the sweep (same seeds, same batch size).
    plans, _ = plan_sweeps(["elevation"], {}, model.prior, STEPS, FRAMES)
    options = RenderOptions(seeds=[7, 8], truncation_psi=0.7, batch_size=5)
    scenes = sweep_frames(plans[0], sample_rows(model.prior, [7, 8]), options, video=True)
    frames = render(model.generator, scenes, 0.7, 5)
    entry = doc["video"][FRAMES + 2]  # row 1, frame 2
    alone = render(model.generator, scene_from_json(entry["scene"]), 0.7, 5)
    assert torch.equal(alone.image[0], frames.image[SAMPLES * STEPS + FRAMES + 2])


def test_the_same_seed_renders_the_same_frames_whatever_else_is_rendered(tiny_run, tmp_path):
    model = load_model(tiny_run)
    plans, _ = plan_sweeps(["rotation", "shape"], {}, model.prior, STEPS, FRAMES)
    run_sweeps(model, plans, RenderOptions(seeds=[3, 9], video_formats=()), tmp_path / "a")
    run_sweeps(model, plans, RenderOptions(seeds=[9]), tmp_path / "b")
    for name in ("rotation", "shape"):
        both, alone = iio.imread(tmp_path / "a" / f"{name}.png"), iio.imread(tmp_path / "b" / f"{name}.png")
        assert (both[36:68] == alone[2:34]).all()  # seed 9's row
        assert not (both[2:34] == alone[2:34]).all()  # seed 3 differs from seed 9
    assert not (tmp_path / "a" / "rotation.mp4").exists() and (tmp_path / "b" / "rotation.mp4").exists()


def _refusal(capsys, tmp_path, *arguments: str) -> str:
    """The one-line error of a refused command; nothing may have been rendered."""
    with pytest.raises(SystemExit) as exit_info:
        _main(f"output_dir={tmp_path / 'out'}", "samples=1", "steps=2", "frames=2", *arguments)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("giraffehd-render: error: ")
    assert not list(tmp_path.rglob("*.png"))
    return lines[0]


def test_bad_checkpoints_are_refused_in_one_line(capsys, tiny_run, tmp_path):
    assert "not found: " in _refusal(capsys, tmp_path, f"checkpoint={tmp_path / 'missing.ckpt'}")
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a checkpoint")
    assert "cannot read checkpoint" in _refusal(capsys, tmp_path, f"checkpoint={corrupt}")
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"weight": torch.zeros(1)}}, foreign)
    assert "foreign.ckpt was not written by giraffehd" in _refusal(capsys, tmp_path, f"checkpoint={foreign}")
    checkpoint = load_checkpoint_file(tiny_run / "checkpoints" / "last.ckpt")
    checkpoint["giraffehd_config"] = {**checkpoint["giraffehd_config"]}
    model = checkpoint["giraffehd_config"]["model"]
    fields = {**model["features"], "object_field": {**model["features"]["object_field"], "hidden_dim": 24}}
    checkpoint["giraffehd_config"]["model"] = {**model, "features": fields}
    other = tmp_path / "other_model.ckpt"
    torch.save(checkpoint, other)
    assert "other_model.ckpt does not match its model config" in _refusal(capsys, tmp_path, f"checkpoint={other}")
    assert "checkpoint is required" in _refusal(capsys, tmp_path)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["sweeps=[elevation,tilt]"], "unknown sweep 'tilt' in sweeps"),
        (["sweeps=[elevation]", "sweep.elevation=[5,5]"], "sweep.elevation is an empty range [5, 5]"),
        (["sweeps=[rotation]", "sweep.rotation=[90,0]"], "sweep.rotation is an inverted range [90, 0]"),
        (["sweeps=[azimuth]"], "sweep.azimuth: the training prior fixes camera azimuth at 0"),
        (["video_size=40"], "video_size must be a multiple of 16, got 40"),
        (["fps=0"], "fps must be a positive integer"),
    ],
)
def test_bad_settings_are_refused_in_one_line(capsys, tiny_run, tmp_path, arguments, message):
    assert message in _refusal(capsys, tmp_path, f"checkpoint={tiny_run}", *arguments)
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_cannot_be_written_is_refused(capsys, tiny_run, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    line = _refusal(capsys, tmp_path, f"checkpoint={tiny_run}", "sweeps=[elevation]", f"output_dir={blocker / 'out'}")
    assert f"output_dir {blocker / 'out'} lies under {blocker}, which is a file: choose a folder" in line
    assert "output_dir" in _refusal(capsys, tmp_path, f"checkpoint={tiny_run}", f"output_dir={blocker}")


def test_a_scene_file_renders_its_frame_exactly_and_starts_every_sweep(tiny_run, tmp_path):
    from giraffehd.viewer.exports import scene_record
    from giraffehd.viewer.state import initial_state, scene_of

    model = load_model(tiny_run)
    state = initial_state(model.prior, 5, truncation_psi=0.6).replace_object(0, rotation_deg=33.0)
    scene_file = tmp_path / "view.json"
    scene_file.write_text(json.dumps(scene_record(state, model.prior, str(tiny_run))))
    out = tmp_path / "out"
    _main(f"checkpoint={tiny_run}", f"scene={scene_file}", "sweeps=[elevation]", f"output_dir={out}", "steps=2",
          "frames=2", "video_formats=[]")  # fmt: skip
    scene = scene_of(state, model.prior)
    expected = render(model.generator, scene, 0.6, batch_size=1).image[0]  # the file's psi and batch size
    frame = iio.imread(out / "scene.png")
    assert frame.tolist() == (expected * 255).round().to(torch.uint8).permute(1, 2, 0).numpy().tolist()
    doc = json.loads((out / "elevation.json").read_text())
    first = scene_from_json(doc["grid"][0]["scene"])  # the sweep's row starts from the file's scene
    assert torch.equal(first.object_shape, scene.object_shape) and first.object_rotation_deg[0, 0] == 33.0
    assert doc["truncation_psi"] == 0.6


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "scene file not found: .*missing.json"),
        ("{not json", "is not readable JSON"),
        ('{"scene": {"camera_radius": 2.0}}', "misses object_shape, object_appearance"),
    ],
)
def test_bad_scene_files_are_refused_in_one_line(capsys, tiny_run, tmp_path, content, message):
    path = tmp_path / "missing.json"
    if content is not None:
        path.write_text(content)
    assert re.search(message, _refusal(capsys, tmp_path, f"checkpoint={tiny_run}", f"scene={path}", "sweeps=[]"))


def test_a_scene_file_with_other_object_slots_is_refused(capsys, tiny_run, tmp_path):
    from giraffehd.scene import ScenePrior
    from giraffehd.scene_json import scene_to_json

    other = ScenePrior(num_objects=3, z_dim=load_model(tiny_run).prior.z_dim).sample(1, torch.Generator())
    path = tmp_path / "three.json"
    path.write_text(json.dumps(scene_to_json(other)[0]))
    line = _refusal(capsys, tmp_path, f"checkpoint={tiny_run}", f"scene={path}", "sweeps=[]")
    assert line.endswith(f"scene file {path} has 3 object slots, the model 1")
