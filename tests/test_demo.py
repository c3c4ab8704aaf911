import imageio
import imageio.v3 as iio
import pytest
import torch
from hydra import compose, initialize_config_dir

from giraffehd.demo import CONF_DIR, ToyCarScene, render_toy_car, run_demo
from giraffehd.rendering.camera import camera_to_world, intrinsics_from_fov, project_points

SCENE = ToyCarScene(
    image_size=32,
    num_samples=16,
    radius=2.732,
    fov_deg=20.0,
    scale=(0.2, 0.2, 0.2),
    translation=(0.0, 0.0, 0.0),
    light_direction=(0.4, 0.8, 0.6),
    ambient=0.35,
)
RED = torch.tensor([[0.8, 0.1, 0.1]])


def _config(tmp_path, *overrides):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(
            "demo",
            [
                f"output_dir={tmp_path}",
                "image_size=16",
                "num_samples=4",
                "elevation_sweep.num_steps=3",
                "rotation_sweep.num_steps=4",
                "turntable.num_frames=6",
                *overrides,
            ],
        )


def test_mask_centroid_follows_the_projected_object_centre():
    translations = [(0.0, 0.0, 0.0), (0.15, 0.05, 0.0), (-0.1, -0.1, 0.2)]
    for translation in translations:
        scene = ToyCarScene(**{**SCENE.__dict__, "translation": translation})
        azimuth, elevation = torch.tensor([25.0]), torch.tensor([15.0])
        out = render_toy_car(scene, azimuth, elevation, torch.tensor([40.0]), RED)
        mask = out.mask[0, 0]
        rows, cols = torch.meshgrid(torch.arange(32) + 0.5, torch.arange(32) + 0.5, indexing="ij")
        centroid = torch.stack([(mask * cols).sum(), (mask * rows).sum()]) / mask.sum()
        pose = camera_to_world(azimuth, elevation, torch.tensor([scene.radius]))
        projected = project_points(
            torch.tensor([[translation]]), pose, intrinsics_from_fov(torch.tensor([20.0]), 32, 32)
        )
        # The toy car is not symmetric about its centre, so allow a few pixels of offset.
        assert torch.dist(centroid, projected.pixels[0, 0]) < 3.0


def test_object_moved_out_of_view_leaves_an_empty_mask():
    scene = ToyCarScene(**{**SCENE.__dict__, "translation": (3.0, 0.0, 0.0)})
    out = render_toy_car(scene, torch.zeros(1), torch.zeros(1), torch.zeros(1), RED)
    assert out.mask.max() < 1e-3


def test_half_turn_renders_differently():
    """Seen from a quarter view, a half turn is neither the same image nor its mirror image."""
    out = render_toy_car(SCENE, torch.zeros(2), torch.full((2,), 10.0), torch.tensor([45.0, 225.0]), RED.expand(2, 3))
    car_pixels = torch.maximum(out.mask[0], out.mask[1]).sum()

    def difference(a, b):  # mean absolute RGB difference per car pixel
        return (a - b).abs().sum() / car_pixels

    assert difference(out.image[0], out.image[1]) > 0.1  # measured 0.25
    assert difference(out.image[0], out.image[1].flip(-1)) > 0.2  # measured 0.46


def test_demo_writes_grids_and_a_seamless_video(tmp_path):
    paths = run_demo(_config(tmp_path))
    assert {p.name for p in paths} == {
        "elevation_sweep.png",
        "rotation_sweep.png",
        "image_mask_depth.png",
        "turntable.mp4",
        "turntable.gif",
    }
    # 3 body colours x 3 steps of 16 px with 2 px padding.
    assert iio.imread(tmp_path / "elevation_sweep.png").shape == (3 * 18 + 2, 3 * 18 + 2, 3)
    assert iio.imread(tmp_path / "rotation_sweep.png").shape == (3 * 18 + 2, 4 * 18 + 2, 3)
    reader = imageio.get_reader(tmp_path / "turntable.mp4")
    assert reader.get_meta_data()["fps"] == 24
    assert reader.count_frames() == 6
    assert reader.get_data(0).shape == (16, 16, 3)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("image_size=40", "image_size"),
        ("camera.radius=-1", "camera.radius"),
        ("rotation_sweep.range_deg=[90,0]", "rotation_sweep.range_deg"),
    ],
)
def test_bad_config_names_the_key(tmp_path, override, key):
    with pytest.raises(ValueError, match=key):
        run_demo(_config(tmp_path / "out", override))
    assert not (tmp_path / "out").exists()
