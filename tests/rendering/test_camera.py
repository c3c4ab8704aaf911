import math

import pytest
import torch

from giraffehd.rendering.camera import (
    camera_position,
    camera_to_world,
    focal_from_fov,
    generate_rays,
    intrinsics_from_fov,
    project_points,
)


def _poses(batch: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    azimuth = torch.rand(batch, generator=g) * 720 - 360
    elevation = torch.rand(batch, generator=g) * 170 - 85
    radius = torch.rand(batch, generator=g) * 4 + 0.5
    return azimuth, elevation, radius


def test_focal_length_closed_form():
    assert focal_from_fov(torch.tensor([90.0]), 64).item() == pytest.approx(32.0)
    expected = 0.5 * 128 / math.tan(math.radians(5.0))
    assert focal_from_fov(torch.tensor([10.0]), 128).item() == pytest.approx(expected, rel=1e-5)


def test_intrinsics_principal_point_at_centre():
    k = intrinsics_from_fov(torch.tensor([49.0, 10.0]), 32, 48)
    assert k.shape == (2, 3, 3)
    torch.testing.assert_close(k[:, 0, 2], torch.full((2,), 24.0))
    torch.testing.assert_close(k[:, 1, 2], torch.full((2,), 16.0))
    torch.testing.assert_close(k[:, 0, 0], k[:, 1, 1])


@pytest.mark.parametrize(
    ("azimuth", "elevation", "expected"),
    [
        (0.0, 0.0, (0.0, 0.0, 2.0)),
        (90.0, 0.0, (2.0, 0.0, 0.0)),
        (180.0, 0.0, (0.0, 0.0, -2.0)),
        (0.0, 90.0, (0.0, 2.0, 0.0)),
    ],
)
def test_camera_position_follows_the_convention(azimuth, elevation, expected):
    position = camera_position(torch.tensor([azimuth]), torch.tensor([elevation]), torch.tensor([2.0]))
    torch.testing.assert_close(position[0], torch.tensor(expected), atol=1e-6, rtol=0)


def test_pose_is_a_level_rotation_looking_at_the_origin():
    azimuth, elevation, radius = _poses()
    pose = camera_to_world(azimuth, elevation, radius)
    rotation, position = pose[:, :3, :3], pose[:, :3, 3]
    torch.testing.assert_close(rotation.transpose(1, 2) @ rotation, torch.eye(3).expand(16, 3, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(rotation), torch.ones(16), atol=1e-5, rtol=0)
    forward = -rotation[:, :, 2]
    torch.testing.assert_close(forward, -position / radius[:, None], atol=1e-5, rtol=0)
    # The camera's right axis is horizontal (no roll) and its up axis points upwards.
    torch.testing.assert_close(rotation[:, 1, 0], torch.zeros(16), atol=1e-6, rtol=0)
    assert torch.all(rotation[:, 1, 1] > 0)
    torch.testing.assert_close(pose[:, 3], torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(16, 4))


def test_centre_ray_of_any_pose_passes_through_the_origin():
    azimuth, elevation, radius = _poses()
    size = 5  # odd, so the middle pixel's centre is the principal point
    rays = generate_rays(
        camera_to_world(azimuth, elevation, radius),
        intrinsics_from_fov(torch.full((16,), 30.0), size, size),
        size,
        size,
    )
    centre = (size // 2) * size + size // 2
    origin, direction = rays.origins[:, centre], rays.directions[:, centre]
    closest = origin + radius[:, None] * direction
    torch.testing.assert_close(closest, torch.zeros(16, 3), atol=1e-5, rtol=0)


def test_ray_directions_are_unit_and_origins_at_the_camera():
    azimuth, elevation, radius = _poses()
    pose = camera_to_world(azimuth, elevation, radius)
    rays = generate_rays(pose, intrinsics_from_fov(torch.full((16,), 49.0), 6, 10), 6, 10)
    assert rays.directions.shape == (16, 60, 3)
    torch.testing.assert_close(rays.directions.norm(dim=-1), torch.ones(16, 60))
    torch.testing.assert_close(rays.origins, pose[:, None, :3, 3].expand(16, 60, 3))


def test_corner_rays_span_the_field_of_view():
    size, fov = 8, 60.0
    pose = camera_to_world(torch.zeros(1), torch.zeros(1), torch.ones(1))
    rays = generate_rays(pose, intrinsics_from_fov(torch.tensor([fov]), size, size), size, size)
    # Camera at +z looking at -z: the top-left pixel looks up (+y) and left (-x).
    top_left, bottom_right = rays.directions[0, 0], rays.directions[0, -1]
    assert top_left[0] < 0 and top_left[1] > 0 and top_left[2] < 0
    assert bottom_right[0] > 0 and bottom_right[1] < 0
    # A pixel edge at the top of the image is half the field of view above the axis.
    edge_slope = (size / 2) / focal_from_fov(torch.tensor([fov]), size)
    assert edge_slope.item() == pytest.approx(math.tan(math.radians(fov / 2)))


def test_projection_inverts_ray_generation():
    azimuth, elevation, radius = _poses(4)
    height, width = 6, 9
    pose = camera_to_world(azimuth, elevation, radius)
    intrinsics = intrinsics_from_fov(torch.full((4,), 40.0), height, width)
    rays = generate_rays(pose, intrinsics, height, width)
    points = rays.origins + 1.7 * rays.directions
    projection = project_points(points, pose, intrinsics)
    rows, cols = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    expected = torch.stack([cols.reshape(-1), rows.reshape(-1)], dim=-1).expand(4, -1, -1)
    torch.testing.assert_close(projection.pixels, expected, atol=1e-3, rtol=0)
    assert torch.all(projection.depth > 0)


def test_image_orientation_up_is_up_and_right_is_right():
    pose = camera_to_world(torch.zeros(1), torch.zeros(1), torch.tensor([3.0]))
    intrinsics = intrinsics_from_fov(torch.tensor([30.0]), 64, 64)
    points = torch.tensor([[[0.0, 0.3, 0.0], [0.3, 0.0, 0.0]]])
    pixels = project_points(points, pose, intrinsics).pixels[0]
    assert pixels[0, 1] < 32 and pixels[0, 0] == pytest.approx(32)  # +y appears above the centre
    assert pixels[1, 0] > 32 and pixels[1, 1] == pytest.approx(32)  # +x appears right of it at azimuth 0
