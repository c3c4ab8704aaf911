import pytest
import torch

from giraffehd.scene import Range, SceneParameters, ScenePrior


def test_sampled_scene_has_the_right_shapes_and_ranges():
    prior = ScenePrior(num_objects=3, z_dim=8, elevation_deg=[5, 20], rotation_deg=[-45, 45])
    scene = prior.sample(64, torch.Generator().manual_seed(0))
    assert scene.batch_size == 64 and scene.num_objects == 3
    assert scene.object_shape.shape == (64, 3, 8) and scene.background_appearance.shape == (64, 8)
    assert scene.camera_elevation_deg.min() >= 5 and scene.camera_elevation_deg.max() <= 20
    assert scene.object_rotation_deg.abs().max() <= 45
    assert torch.all(scene.camera_radius == 2.732) and torch.all(scene.camera_fov_deg == 10.0)
    scale = scene.object_scale
    assert torch.all(scale[..., 2] >= 0.2) and torch.all(scale[..., 2] <= 0.25)  # GIRAFFE HD cars, +y up
    height = scene.object_translation[..., 1]
    assert height.min() >= -0.06 and height.max() <= 0.08 and height.std() > 0.01
    assert scene.object_present.all()


def test_same_seed_same_scene_and_different_seed_different():
    prior = ScenePrior(z_dim=4)
    a = prior.sample(4, torch.Generator().manual_seed(7))
    b = prior.sample(4, torch.Generator().manual_seed(7))
    c = prior.sample(4, torch.Generator().manual_seed(8))
    assert torch.equal(a.object_shape, b.object_shape) and torch.equal(a.object_rotation_deg, b.object_rotation_deg)
    assert not torch.equal(a.object_shape, c.object_shape)


def test_fixing_a_field_keeps_every_other_draw():
    prior = ScenePrior(z_dim=4, num_objects=2)
    free = prior.sample(5, torch.Generator().manual_seed(3))
    fixed = prior.sample(5, torch.Generator().manual_seed(3), camera_elevation_deg=12.5, object_rotation_deg=90.0)
    assert torch.all(fixed.camera_elevation_deg == 12.5) and torch.all(fixed.object_rotation_deg == 90.0)
    assert torch.equal(fixed.object_shape, free.object_shape)
    assert torch.equal(fixed.object_translation, free.object_translation)
    assert torch.equal(fixed.camera_azimuth_deg, free.camera_azimuth_deg)


def test_replace_broadcasts_and_rejects_unknown_or_misshapen_fields():
    scene = ScenePrior(z_dim=4, num_objects=2).sample(3, torch.Generator().manual_seed(0))
    moved = scene.replace(object_translation=torch.tensor([0.1, 0.0, -0.1]))
    assert moved.object_translation.shape == (3, 2, 3)
    assert torch.all(moved.object_translation[..., 2] == -0.1)
    with pytest.raises(ValueError, match="camera_zoom"):
        scene.replace(camera_zoom=2.0)
    with pytest.raises(ValueError, match="object_scale"):
        scene.replace(object_scale=torch.ones(4))


def test_presence_count_between_min_and_max():
    prior = ScenePrior(num_objects=5, min_objects=2, z_dim=2)
    present = prior.sample(400, torch.Generator().manual_seed(0)).object_present
    counts = present.sum(dim=1)
    assert counts.min() == 2 and counts.max() == 5
    assert set(counts.tolist()) == {2, 3, 4, 5}
    assert present.float().mean(dim=0).min() > 0.5  # every slot gets used, not only the first ones


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"elevation_deg": [30, 10]}, "elevation_deg"),
        ({"radius": [-1, 2]}, "radius"),
        ({"num_objects": 0}, "num_objects"),
        ({"fov_deg": [0, 10]}, "fov_deg"),
        ({"scale": [[0.1, 0.2], [0.1, 0.2]]}, "scale"),
        ({"translation": [[0, 1], [2, 1], [0, 0]]}, "translation.y"),
    ],
)
def test_bad_priors_name_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        ScenePrior(**kwargs)


def test_range_rejects_inverted_bounds():
    with pytest.raises(ValueError, match="low"):
        Range(2.0, 1.0)


def test_joint_scale_puts_every_axis_at_the_same_point_of_its_range():
    prior = ScenePrior(num_objects=3, z_dim=2, scale=[[0.1, 0.2], [1, 3], [0.5, 0.5]], joint_scale=True)
    scale = prior.sample(50, torch.Generator().manual_seed(0)).object_scale
    fraction = (scale[..., 0] - 0.1) / 0.1
    torch.testing.assert_close(scale[..., 1], 1 + 2 * fraction)
    assert torch.all(scale[..., 2] == 0.5) and fraction.min() >= 0 and fraction.max() <= 1 and fraction.std() > 0.1
    independent = ScenePrior(num_objects=3, z_dim=2, scale=[[0.1, 0.2], [1, 3], [0.5, 0.5]], joint_scale=False)
    scale = independent.sample(50, torch.Generator().manual_seed(0)).object_scale
    assert not torch.allclose(scale[..., 1], 1 + 2 * (scale[..., 0] - 0.1) / 0.1)


def test_cat_and_select_round_trip():
    prior = ScenePrior(num_objects=2, z_dim=3)
    a, b = prior.sample(2, torch.Generator().manual_seed(0)), prior.sample(3, torch.Generator().manual_seed(1))
    both = SceneParameters.cat([a, b])
    assert both.batch_size == 5
    assert torch.equal(both.select(slice(2, 5)).object_shape, b.object_shape)
    assert torch.equal(both.select(slice(0, 2)).object_present, a.object_present)
