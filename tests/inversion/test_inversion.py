"""Inversion finds the knobs of an image the model can draw, deterministically; giraffehd-invert's files and
refusals."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from giraffehd.inversion import cli
from giraffehd.inversion.optimise import InversionSettings, inversion_steps, invert
from giraffehd.model_io import load_model
from giraffehd.scene_file import read_scene_file
from giraffehd.sweeps.api import render

MODEL = Path(__file__).resolve().parents[2] / "models" / "demo_car_64.pt"
QUICK = InversionSettings(starts=4, search_steps=40, refine_steps=60)


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


@pytest.mark.slow
def test_the_model_s_own_render_is_inverted_to_its_pose(model):
    scene = model.prior.sample(1, torch.Generator().manual_seed(11)).replace(object_rotation_deg=[[200.0]])
    target = render(model.generator, scene, batch_size=1).image[0]
    result = invert(model.generator, model.prior, target, QUICK)
    turn = (result.scene.object_rotation_deg[0, 0] - 200.0 + 180) % 360 - 180
    assert abs(float(turn)) < 10
    assert abs(float(result.scene.camera_elevation_deg[0] - scene.camera_elevation_deg[0])) < 3
    assert result.psnr_db > 25
    again = invert(model.generator, model.prior, target, QUICK)
    assert torch.equal(again.image, result.image)  # seeded: the same result every time


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("full_resolution_steps", -1, "refine_steps, full_resolution_steps and code_penalty must not be negative"),
        ("full_resolution_lr", 0.0, "lr and full_resolution_lr must be positive, got 0.05 and 0.0"),
        ("search_steps", 0, "search_steps must be at least 1, got 0"),
    ],
)
def test_bad_settings_are_refused_with_the_key(key, value, message):
    with pytest.raises(ValueError, match=message):
        InversionSettings(**{key: value})


def test_an_image_of_another_size_is_refused_by_the_api(model):
    with pytest.raises(ValueError, match=r"must be 3 x 64 x 64 \(the model's resolution\), got \(3, 32, 32\)"):
        invert(model.generator, model.prior, torch.zeros(3, 32, 32), QUICK)


def _main(monkeypatch, *arguments: str) -> None:
    monkeypatch.setattr(sys, "argv", ["giraffehd-invert", f"checkpoint={MODEL}", *arguments])
    cli.main()


@pytest.mark.slow
def test_the_command_writes_reconstruction_scene_and_edits(model, tmp_path, monkeypatch, capsys):
    scene = model.prior.sample(1, torch.Generator().manual_seed(5))
    image = render(model.generator, scene, batch_size=1).image[0]
    big = Image.fromarray((image * 255).round().byte().permute(1, 2, 0).numpy()).resize((100, 80))  # not square
    big.save(tmp_path / "photo.jpg")
    out = tmp_path / "out"
    quick = ["inversion.starts=2", "inversion.search_steps=5", "inversion.refine_steps=5"]
    _main(monkeypatch, f"image={tmp_path / 'photo.jpg'}", f"output_dir={out}", *quick, "edits=[rotation]", "steps=3",
          "frames=4")  # fmt: skip
    captured = capsys.readouterr()
    assert "photo.jpg is 100x80: resized to 64x64 (centre square)" in captured.err
    folder = out / "photo"
    assert sorted(p.name for p in folder.iterdir()) == [
        "reconstruction.png",
        "rotation.mp4",
        "rotation.png",
        "scene.json",
    ]
    assert np.asarray(Image.open(folder / "reconstruction.png")).shape == (68, 134, 3)  # input | reconstruction
    record = json.loads((folder / "scene.json").read_text())
    assert record["batch_size"] == 1 and record["psnr_db"] > 0
    assert read_scene_file(folder / "scene.json", model.prior).notes == ()  # what render and export-mesh read


def test_bad_images_are_one_line(tmp_path, monkeypatch, capsys):
    def refusal(path) -> str:
        with pytest.raises(SystemExit) as exit_info:
            _main(monkeypatch, f"image={path}", f"output_dir={tmp_path / 'out'}")
        assert exit_info.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("giraffehd-invert: error: ")
        return lines[0]

    assert "data path does not exist" in refusal(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    assert "no images (" in refusal(tmp_path / "empty")
    (tmp_path / "empty" / "broken.png").write_bytes(b"not an image")
    assert "1 of 1 images in" in refusal(tmp_path / "empty")
    os.mkfifo(tmp_path / "pipe.png")  # reading it would wait for a writer forever
    assert "is not a regular file or folder (a named pipe or device)" in refusal(tmp_path / "pipe.png")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_folder_is_checked_before_the_first_inversion_and_broken_images_can_be_skipped(
    model, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "photos"
    folder.mkdir()
    image = render(model.generator, model.prior.sample(1, torch.Generator().manual_seed(5)), batch_size=1).image[0]
    Image.fromarray((image * 255).round().byte().permute(1, 2, 0).numpy()).save(folder / "b_good.png")
    (folder / "a_broken.png").write_bytes(b"\x89PNG not really")
    quick = ["inversion.starts=2", "inversion.search_steps=2", "inversion.refine_steps=2", "edits=[]"]
    with pytest.raises(SystemExit) as stop:
        _main(monkeypatch, f"image={folder}", f"output_dir={tmp_path / 'out'}", *quick)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 of 2 images in" in err[0] and "the first is a_broken.png" in err[0]
    assert err[0].endswith("(skip_broken=true leaves them out)")
    assert not (tmp_path / "out").exists()  # refused before any work, though the broken image sorts first
    _main(monkeypatch, f"image={folder}", f"output_dir={tmp_path / 'out'}", *quick, "skip_broken=true")
    captured = capsys.readouterr()
    assert "giraffehd-invert: note: skipping 1 unreadable images" in captured.err and "a_broken.png" in captured.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b_good"]


def test_a_model_grown_from_a_smaller_one_is_searched_on_that_one_then_refined_at_its_own_size():
    from conftest import tiny_generator

    from giraffehd.model.anchored_compositor import base_generator
    from giraffehd.scene import ScenePrior

    generator = tiny_generator(layout="anchored", seed=2)
    prior = ScenePrior(z_dim=generator.z_dim)
    target = render(generator, prior.sample(1, torch.Generator().manual_seed(3)), batch_size=1).image[0]
    settings = InversionSettings(starts=2, search_steps=3, refine_steps=2, finalists=1, full_resolution_steps=0)
    searched = invert(generator, prior, target, settings)
    small = torch.nn.functional.interpolate(target[None], size=16, mode="area")[0]
    on_base = invert(base_generator(generator), prior, small, settings)
    for name in ("object_rotation_deg", "camera_elevation_deg", "object_shape"):
        assert torch.equal(getattr(searched.scene, name), getattr(on_base.scene, name))
    assert searched.image.shape == (3, 32, 32)
    counted = []
    settings = InversionSettings(starts=2, search_steps=3, refine_steps=2, finalists=1, full_resolution_steps=4)
    refined = invert(generator, prior, target, settings, counted.append)
    assert len(counted) == inversion_steps(generator, settings) == 9
    assert not torch.equal(refined.scene.object_shape, searched.scene.object_shape)  # the last steps ran at 32 px
