import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from giraffehd.data.cli import main as data_main
from giraffehd.data.synthetic.renderer import render_synthetic
from giraffehd.data.synthetic.writer import SyntheticSpec, sample_labels, synthesize
from giraffehd.rendering.camera import camera_to_world, intrinsics_from_fov, project_points
from giraffehd.scene import ScenePrior

CAR = SyntheticSpec(classes=["car"], palette={"red": [0.8, 0.1, 0.1], "blue": [0.1, 0.3, 0.8]})
CAR_PRIOR = ScenePrior(z_dim=1, elevation_deg=[10, 30], fov_deg=[10, 10], scale=[[0.2, 0.2]] * 3)
CLEVR = SyntheticSpec(classes=["box", "sphere", "cylinder"], palette={"gray": [0.4] * 3, "cyan": [0.2, 0.8, 0.8]})
CLEVR_PRIOR = ScenePrior(
    z_dim=1,
    num_objects=4,
    min_objects=2,
    azimuth_deg=[-30, 30],
    elevation_deg=[25, 40],
    fov_deg=[30, 30],
    translation=[[-0.5, 0.5], [0, 0], [-0.5, 0.5]],
    scale=[[0.09, 0.16]] * 3,
    joint_scale=True,
)


def _centroids(coverage):
    """Pixel centroids (u, v) of (B, N, H, W) coverage maps."""
    h, w = coverage.shape[-2:]
    rows, cols = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    mass = coverage.sum(dim=(-1, -2)).clamp(min=1e-9)
    return torch.stack([(coverage * cols).sum(dim=(-1, -2)) / mass, (coverage * rows).sum(dim=(-1, -2)) / mass], -1)


@pytest.mark.parametrize(("shape", "tolerance"), [("sphere", 0.35), ("box", 1.0), ("car", 3.0)])
def test_object_mask_centroid_matches_projected_centre(shape, tolerance):
    prior = ScenePrior(
        z_dim=1,
        num_objects=1,
        azimuth_deg=[-60, 60],
        elevation_deg=[0, 40],
        fov_deg=[25, 25],
        translation=[[-0.3, 0.3], [-0.1, 0.1], [-0.3, 0.3]],
        scale=[[0.15, 0.15]] * 3,
    )
    scene = prior.sample(16, torch.Generator().manual_seed(0))
    out = render_synthetic(scene, torch.zeros(16, 1, dtype=torch.long), torch.rand(16, 1, 3), [shape], 64)
    pose = camera_to_world(scene.camera_azimuth_deg, scene.camera_elevation_deg, scene.camera_radius)
    projected = project_points(scene.object_translation, pose, intrinsics_from_fov(scene.camera_fov_deg, 64, 64))
    error = (_centroids(out.object_coverage) - projected.pixels).norm(dim=-1)
    assert error.max() < tolerance, error


def test_coverage_sums_to_the_mask_and_marks_each_object():
    scene, classes, colours = sample_labels(CLEVR_PRIOR, CLEVR, seed=1, indices=range(6))
    palette = torch.tensor(list(CLEVR.palette.values()))
    out = render_synthetic(scene, classes, palette[colours], CLEVR.classes, 32)
    torch.testing.assert_close(out.object_coverage.sum(dim=1, keepdim=True), out.mask)
    visible = out.object_coverage.sum(dim=(-1, -2)) > 0
    assert torch.all(visible <= scene.object_present)  # absent objects are never drawn
    assert visible.sum() >= 0.8 * scene.object_present.sum()  # most present objects can be seen


def test_half_turned_car_is_neither_the_same_nor_the_mirror_image():
    scene = CAR_PRIOR.sample(2, torch.Generator().manual_seed(0), object_rotation_deg=torch.tensor([[45.0], [225.0]]),
                             camera_elevation_deg=15.0, object_translation=0.0)  # fmt: skip
    out = render_synthetic(
        scene, torch.zeros(2, 1, dtype=torch.long), torch.tensor([[[0.8, 0.1, 0.1]]] * 2), ["car"], 64
    )
    car = torch.maximum(out.mask[0], out.mask[1]).sum()
    same = (out.image[0] - out.image[1]).abs().sum() / car
    mirror = (out.image[0] - out.image[1].flip(-1)).abs().sum() / car
    assert same > 0.2 and mirror > 0.2


def test_dataset_files_and_labels_agree(tmp_path):
    out = synthesize(tmp_path / "set", CLEVR_PRIOR, CLEVR, num_images=10, resolution=32, seed=3, batch_size=4)
    labels = json.loads((out / "labels.json").read_text())
    assert labels["num_images"] == 10 and len(labels["images"]) == 10
    assert labels["classes"] == ["box", "sphere", "cylinder"]
    record = labels["images"][7]
    image, mask = iio.imread(out / record["image"]), iio.imread(out / record["mask"])
    assert image.shape == (32, 32, 3) and mask.shape == (32, 32)
    # Re-rendering image 7 alone from (seed, index) reproduces its file and its labels.
    scene, classes, colours = sample_labels(CLEVR_PRIOR, CLEVR, seed=3, indices=[7])
    palette = torch.tensor(list(CLEVR.palette.values()))
    again = render_synthetic(scene, classes, palette[colours], CLEVR.classes, 32)
    assert np.array_equal((again.image[0] * 255).round().byte().permute(1, 2, 0).numpy(), image)
    assert record["camera"]["elevation_deg"] == pytest.approx(float(scene.camera_elevation_deg[0]), abs=1e-3)
    present = [n for n in range(4) if scene.object_present[0, n]]
    assert [o["slot"] for o in record["objects"]] == present
    for obj in record["objects"]:
        assert obj["class"] == CLEVR.classes[int(classes[0, obj["slot"]])]
        assert obj["rotation_deg"] == pytest.approx(float(scene.object_rotation_deg[0, obj["slot"]]), abs=1e-3)
    assert not list(tmp_path.glob(".*partial"))


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = synthesize(tmp_path / "a", CAR_PRIOR, CAR, num_images=5, resolution=32, seed=0, batch_size=2)
    b = synthesize(tmp_path / "b", CAR_PRIOR, CAR, num_images=5, resolution=32, seed=0, batch_size=3)
    c = synthesize(tmp_path / "c", CAR_PRIOR, CAR, num_images=5, resolution=32, seed=1)
    for name in ("images/00000004.png", "masks/00000004.png", "labels.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "images/00000004.png").read_bytes() != (c / "images/00000004.png").read_bytes()


def test_existing_output_is_refused_and_untouched(tmp_path):
    target = tmp_path / "set"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists"):
        synthesize(target, CAR_PRIOR, CAR, num_images=2, resolution=32)
    assert (target / "keep.txt").read_text() == "mine"


def test_bad_specs_name_the_key():
    with pytest.raises(ValueError, match="synthetic.classes"):
        SyntheticSpec(classes=["plane"], palette={"red": [1, 0, 0]})
    with pytest.raises(ValueError, match="synthetic.palette.red"):
        SyntheticSpec(classes=["car"], palette={"red": [2, 0, 0]})
    with pytest.raises(ValueError, match="resolution"):
        synthesize("/nonexistent/never", CAR_PRIOR, CAR, num_images=2, resolution=48)


def test_cli_renders_the_presets(tmp_path, capsys):
    data_main(["synth", "num_images=3", "resolution=32", f"output={tmp_path / 'car'}"])
    labels = json.loads((tmp_path / "car" / "labels.json").read_text())
    elevations = [r["camera"]["elevation_deg"] for r in labels["images"]]
    assert all(10 <= e <= 30 for e in elevations)  # conf/camera/synthetic_car.yaml
    data_main(["synth", "data=synthetic_clevr", "num_images=2", "resolution=32", f"output={tmp_path / 'clevr'}"])
    labels = json.loads((tmp_path / "clevr" / "labels.json").read_text())
    assert labels["classes"] == ["box", "sphere", "cylinder"] and labels["prior"]["num_objects"] == 5


@pytest.mark.parametrize(
    ("override", "key"),
    [("camera.elevation_deg=[40,10]", "camera.elevation_deg"), ("objects.num_objects=0", "objects.num_objects"),
     ("resolution=48", "resolution"), ("data=nonexistent", "data"), ("resolution=abc", "resolution must be an integer"),
     ("num_images=many", "num_images must be an integer"), ("batch_size=0", "batch_size must be an integer of at"),
     ("supersampling=0", "supersampling")],
)  # fmt: skip
def test_cli_bad_input_is_one_line_naming_the_key(tmp_path, capsys, override, key):
    with pytest.raises(SystemExit) as exit_info:
        data_main(["synth", "num_images=2", f"output={tmp_path / 'x'}", override])
    assert exit_info.value.code == 2  # bad input, not a crash
    message = capsys.readouterr().err.strip()
    assert key in message and "\n" not in message and message.startswith("giraffehd-data synth: error: ")
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.iterdir())  # no staging folder (.x.partial) either


def test_an_output_under_a_file_is_refused_before_rendering(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        data_main(["synth", "num_images=2", f"output={tmp_path / 'file' / 'x'}"])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err.strip()
    where = f"output {tmp_path / 'file' / 'x'} lies under {tmp_path / 'file'}, which is a file: choose a folder"
    assert message == f"giraffehd-data synth: error: {where}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_run_that_fails_part_way_leaves_no_staging_folder(tmp_path, monkeypatch):
    from giraffehd.data.synthetic import writer

    def failing(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_write_png", failing)
    with pytest.raises(OSError, match="No space left"):
        synthesize(tmp_path / "x", CAR_PRIOR, CAR, num_images=2, resolution=32)
    assert not list(tmp_path.iterdir())
