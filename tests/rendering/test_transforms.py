import pytest
import torch

from giraffehd.rendering.rays import Rays
from giraffehd.rendering.transforms import (
    BoxTransform,
    box_to_world,
    rotation_about_right,
    rotation_about_up,
    rotation_from_axis_angle,
    world_to_box,
    world_to_box_rays,
)


def _random_transform(b: int = 3, n: int = 2, seed: int = 0) -> BoxTransform:
    g = torch.Generator().manual_seed(seed)
    axis_angle = (torch.rand(b, n, 3, generator=g) - 0.5) * 400
    return BoxTransform(
        scale=torch.rand(b, n, 3, generator=g) * 0.8 + 0.2,
        rotation=rotation_from_axis_angle(axis_angle),
        translation=torch.randn(b, n, 3, generator=g),
    )


def test_positive_rotation_about_up_takes_x_to_minus_z():
    rotation = rotation_about_up(torch.tensor(90.0))
    torch.testing.assert_close(rotation @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, -1.0]))
    torch.testing.assert_close(rotation @ torch.tensor([0.0, 0.0, 1.0]), torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(rotation @ torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]))


def test_positive_rotation_about_right_takes_y_to_z():
    rotation = rotation_about_right(torch.tensor(90.0))
    torch.testing.assert_close(rotation @ torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0]))


def test_axis_angle_matches_rotation_about_up_and_fixes_its_axis():
    angles = torch.tensor([-170.0, -30.0, 0.0, 45.0, 90.0, 359.0])
    axis_angle = torch.stack([torch.zeros(6), angles, torch.zeros(6)], dim=-1)
    torch.testing.assert_close(rotation_from_axis_angle(axis_angle), rotation_about_up(angles), atol=1e-6, rtol=0)
    general = torch.tensor([[30.0, -20.0, 50.0]])
    rotation = rotation_from_axis_angle(general)[0]
    torch.testing.assert_close(rotation @ general[0], general[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(rotation.T @ rotation, torch.eye(3), atol=1e-6, rtol=0)


def test_world_to_box_to_world_round_trips():
    transform = _random_transform()
    points = torch.randn(3, 2, 50, 3)
    torch.testing.assert_close(box_to_world(world_to_box(points, transform), transform), points, atol=1e-5, rtol=0)
    torch.testing.assert_close(world_to_box(box_to_world(points, transform), transform), points, atol=1e-5, rtol=0)


def test_box_centre_maps_to_translation_and_back():
    transform = _random_transform()
    centre = torch.zeros(3, 2, 1, 3)
    torch.testing.assert_close(box_to_world(centre, transform)[:, :, 0], transform.translation)
    torch.testing.assert_close(world_to_box(transform.translation[:, :, None], transform), centre, atol=1e-6, rtol=0)


def test_box_corner_closed_form():
    transform = BoxTransform(
        scale=torch.tensor([[[2.0, 1.0, 0.5]]]),
        rotation=rotation_about_up(torch.tensor([[90.0]])),
        translation=torch.tensor([[[0.0, 1.0, 0.0]]]),
    )
    corner = box_to_world(torch.tensor([[[[1.0, 1.0, 1.0]]]]), transform)
    # scale -> (2, 1, 0.5); +90 about up: x -> -z, z -> +x; then up by one.
    torch.testing.assert_close(corner[0, 0, 0], torch.tensor([0.5, 2.0, -2.0]), atol=1e-6, rtol=0)


def test_box_frame_rays_keep_world_depths():
    transform = _random_transform()
    rays = Rays(origins=torch.randn(3, 7, 3), directions=torch.nn.functional.normalize(torch.randn(3, 7, 3), dim=-1))
    box_rays = world_to_box_rays(rays, transform)
    depths = torch.rand(3, 7, 4) * 5
    world_points = rays.at(depths)  # (B, R, S, 3)
    expected = world_to_box(world_points.reshape(3, 1, 28, 3).expand(3, 2, 28, 3), transform).reshape(3, 2, 7, 4, 3)
    actual = box_rays.at(depths[:, None].expand(3, 2, 7, 4))
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


def test_box_transform_rejects_mismatched_shapes():
    with pytest.raises(Exception, match="rotation"):  # ValueError; a TypeCheckError under the test hook
        BoxTransform(
            scale=torch.ones(2, 1, 3), rotation=torch.eye(3).expand(2, 2, 3, 3), translation=torch.zeros(2, 1, 3)
        )
