"""Camera model, and the one coordinate convention of giraffehd.

Every module, config and dataset of the project uses this convention:

| What                         | Convention                                                                |
|------------------------------|---------------------------------------------------------------------------|
| World frame                  | right-handed; **+y is up**; the ground plane is y = 0                      |
| Scene units                  | objects live in about [-1, 1]^3; the default camera radius is 2.732        |
| Azimuth 0                    | camera on the **+z** axis, looking towards -z at the origin                |
| Positive azimuth             | camera moves counter-clockwise seen from above: azimuth 90 puts it on +x  |
| Elevation                    | 0 = in the ground plane; positive raises the camera (+y), looking down    |
| Camera position              | r * (cos(el) sin(az), sin(el), cos(el) cos(az)); it always looks at the origin |
| Camera frame                 | x right, y up, looking along **-z** (OpenGL style)                        |
| Camera-to-world matrix       | 4x4 ``[R | t]``: columns of R are the camera's x, y, z axes in world      |
| Field of view                | full angle across the image height, degrees                              |
| Image                        | row 0 is the top, column 0 the left; pixel (i, j) has its centre at       |
|                              | (j + 0.5, i + 0.5) in pixel units                                         |
| Ray order                    | one ray per pixel centre, row-major: ray r = i * W + j                    |
| Positive object rotation     | right-handed about +y (counter-clockwise seen from above): +90 degrees    |
|                              | takes +x to -z and +z to +x                                               |
| Units                        | degrees at every user-facing interface (configs, CLI, scene parameters); |
|                              | radians only inside these functions                                       |

Axis legend: B scenes, R rays (R = H * W), P points.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.rendering.rays import Rays
from giraffehd.rendering.transforms import rotation_about_right, rotation_about_up

# The camera has no roll: an orbit keeps its elevation just inside the poles, where azimuth is still defined.
MAX_ELEVATION_DEG = 89.0


def focal_from_fov(fov_deg: Float[Tensor, "*batch"], height: int) -> Float[Tensor, "*batch"]:
    """Focal length in pixels for a vertical field of view in degrees, in (0, 180)."""
    return 0.5 * height / torch.tan(torch.deg2rad(fov_deg) / 2)


def intrinsics_from_fov(fov_deg: Float[Tensor, " B"], height: int, width: int) -> Float[Tensor, "B 3 3"]:
    """Pinhole intrinsics in pixel units (principal point at the image centre, square pixels).

    ``K`` maps a camera-frame point (x, y, z) with z < 0 to pixel (u, v) = (cx + f x / -z, cy - f y / -z):
    u grows to the right and v grows downwards, as rows and columns do.
    """
    focal = focal_from_fov(fov_deg, height)
    intrinsics = torch.zeros(*focal.shape, 3, 3, dtype=focal.dtype, device=focal.device)
    intrinsics[..., 0, 0] = focal
    intrinsics[..., 1, 1] = focal
    intrinsics[..., 0, 2] = width / 2
    intrinsics[..., 1, 2] = height / 2
    intrinsics[..., 2, 2] = 1.0
    return intrinsics


def camera_position(
    azimuth_deg: Float[Tensor, " B"], elevation_deg: Float[Tensor, " B"], radius: Float[Tensor, " B"]
) -> Float[Tensor, "B 3"]:
    """World position of a camera on the sphere of ``radius`` around the origin."""
    azimuth, elevation = torch.deg2rad(azimuth_deg), torch.deg2rad(elevation_deg)
    return radius[:, None] * torch.stack(
        [torch.cos(elevation) * torch.sin(azimuth), torch.sin(elevation), torch.cos(elevation) * torch.cos(azimuth)],
        dim=-1,
    )


def camera_to_world(
    azimuth_deg: Float[Tensor, " B"], elevation_deg: Float[Tensor, " B"], radius: Float[Tensor, " B"]
) -> Float[Tensor, "B 4 4"]:
    """Camera-to-world pose of a camera at (azimuth, elevation, radius) looking at the origin.

    The rotation is ``R_up(azimuth) @ R_right(-elevation)``: the camera is first tilted down by the
    elevation, then orbited about the up axis. Its up vector stays in the plane of +y and the view
    direction, so the horizon is level; no look-at singularity at +-90 degrees elevation.
    """
    rotation = rotation_about_up(azimuth_deg) @ rotation_about_right(-elevation_deg)
    pose = torch.zeros(*azimuth_deg.shape, 4, 4, dtype=rotation.dtype, device=rotation.device)
    pose[..., :3, :3] = rotation
    pose[..., :3, 3] = camera_position(azimuth_deg, elevation_deg, radius)
    pose[..., 3, 3] = 1.0
    return pose


def pixel_directions(intrinsics: Float[Tensor, "B 3 3"], height: int, width: int) -> Float[Tensor, "B R 3"]:
    """Unit ray directions in the camera frame through each pixel centre, row-major."""
    rows = torch.arange(height, dtype=intrinsics.dtype, device=intrinsics.device) + 0.5
    cols = torch.arange(width, dtype=intrinsics.dtype, device=intrinsics.device) + 0.5
    v, u = torch.meshgrid(rows, cols, indexing="ij")
    u, v = u.reshape(1, -1), v.reshape(1, -1)
    fx, fy = intrinsics[:, 0, 0, None], intrinsics[:, 1, 1, None]
    cx, cy = intrinsics[:, 0, 2, None], intrinsics[:, 1, 2, None]
    x = (u - cx) / fx
    y = -(v - cy) / fy
    directions = torch.stack([x, y, -torch.ones_like(x)], dim=-1)
    return directions / directions.norm(dim=-1, keepdim=True)


def generate_rays(
    cam2world: Float[Tensor, "B 4 4"], intrinsics: Float[Tensor, "B 3 3"], height: int, width: int
) -> Rays:
    """World rays of shape (B, H * W, 3): origins at the camera centre, unit directions, row-major."""
    directions_cam = pixel_directions(intrinsics, height, width)
    directions = torch.einsum("bij,brj->bri", cam2world[:, :3, :3], directions_cam)
    origins = cam2world[:, None, :3, 3].expand_as(directions)
    return Rays(origins=origins, directions=directions)


@dataclass(frozen=True)
class Projection:
    """World points seen by a camera: pixel coordinates (u = column, v = row, in pixels, not rounded)
    and view depth (distance along the viewing axis, positive in front of the camera)."""

    pixels: Float[Tensor, "B P 2"]
    depth: Float[Tensor, "B P"]


def project_points(
    points: Float[Tensor, "B P 3"], cam2world: Float[Tensor, "B 4 4"], intrinsics: Float[Tensor, "B 3 3"]
) -> Projection:
    """Project world points into the image of each camera."""
    rotation, position = cam2world[:, :3, :3], cam2world[:, :3, 3]
    points_cam = torch.einsum("bji,bpj->bpi", rotation, points - position[:, None])
    depth = -points_cam[..., 2]
    fx, fy = intrinsics[:, 0, 0, None], intrinsics[:, 1, 1, None]
    cx, cy = intrinsics[:, 0, 2, None], intrinsics[:, 1, 2, None]
    u = cx + fx * points_cam[..., 0] / depth
    v = cy - fy * points_cam[..., 1] / depth
    return Projection(pixels=torch.stack([u, v], dim=-1), depth=depth)
