"""Where each object's box lands in the image: 2D rectangles around its projected corners, and their mask.

For each object, the 8 corners of its box frame [-1, 1]^3, grown by ``1 + pad``, are mapped to the world
(``x = R_up(rotation) @ (scale * x_box) + translation``, :func:`giraffehd.rendering.transforms.box_to_world`)
and projected with the scene's camera (:func:`giraffehd.rendering.camera.project_points`, intrinsics from the
field of view at ``resolution`` x ``resolution``). The object's rectangle is the axis-aligned bounding
rectangle of the 8 projections, in pixels: (u_min, v_min, u_max, v_max), u = column, v = row, unclipped.
Because a box is convex, the rectangle contains the box's whole silhouette, so every pixel whose ray meets
the box lies in it.

Special cases, per object:
- absent (``object_present`` False), or entirely behind the camera (no corner in front): an empty rectangle
  (0, 0, 0, 0) that contains no pixel centre;
- straddling the camera plane (some corners in front, some behind; only for cameras inside or at a box):
  its projection is unbounded, so the rectangle is the whole image (0, 0, resolution, resolution).

The mask is the union over objects of their rectangles, tested at pixel centres: pixel (i, j) is 1 when
(j + 0.5, i + 0.5) lies in some rectangle (edges included), else 0. It is a hard 0/1 mask: it is used as a
fixed target by the mask losses, never differentiated.

Axis legend: B scenes, N objects, H W height and width.
"""

import itertools

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.rendering.camera import intrinsics_from_fov, project_points
from giraffehd.rendering.scene_frames import scene_boxes, scene_pose
from giraffehd.rendering.transforms import box_to_world
from giraffehd.scene import SceneParameters

_MIN_DEPTH = 1e-6


def box_corners(pad: float = 0.0) -> Float[Tensor, "8 3"]:
    """The 8 corners of the box [-(1 + pad), 1 + pad]^3."""
    return torch.tensor(list(itertools.product((-1.0, 1.0), repeat=3))) * (1.0 + pad)


def projected_box_rects(scene: SceneParameters, resolution: int, pad: float = 0.0) -> Float[Tensor, "B N 4"]:
    """Per object, the image rectangle (u_min, v_min, u_max, v_max) of its projected box corners, in pixels.

    See the module docstring for absent objects and objects behind the camera.
    """
    if resolution < 1:
        raise ValueError(f"resolution must be at least 1, got {resolution}")
    if pad <= -1.0:
        raise ValueError(f"pad must be greater than -1, got {pad}")
    b, n = scene.batch_size, scene.num_objects
    dtype, device = scene.object_scale.dtype, scene.object_scale.device
    transform = scene_boxes(scene)
    corners = box_corners(pad).to(dtype=dtype, device=device).expand(b, n, 8, 3)
    world = box_to_world(corners, transform).reshape(b, n * 8, 3)
    pose = scene_pose(scene)
    projection = project_points(world, pose, intrinsics_from_fov(scene.camera_fov_deg, resolution, resolution))
    pixels = projection.pixels.reshape(b, n, 8, 2)
    in_front = (projection.depth > _MIN_DEPTH).reshape(b, n, 8)
    all_in_front, any_in_front = in_front.all(dim=-1), in_front.any(dim=-1)
    # Corners behind the camera project to meaningless pixels: only use rectangles whose corners are all in front.
    safe = torch.where(in_front[..., None], pixels, torch.zeros_like(pixels))
    rects = torch.cat([safe.amin(dim=2), safe.amax(dim=2)], dim=-1)
    whole_image = torch.tensor([0.0, 0.0, resolution, resolution], dtype=dtype, device=device)
    rects = torch.where((any_in_front & ~all_in_front)[..., None], whole_image, rects)
    keep = (scene.object_present & any_in_front)[..., None]
    return torch.where(keep, rects, torch.zeros_like(rects))


def rects_to_mask(rects: Float[Tensor, "B N 4"], resolution: int) -> Float[Tensor, "B 1 H W"]:
    """Union of rectangles (u_min, v_min, u_max, v_max) tested at pixel centres: 1 inside, 0 outside."""
    return rects_to_masks(rects, resolution).amax(dim=1, keepdim=True)


def rects_to_masks(rects: Float[Tensor, "B N 4"], resolution: int) -> Float[Tensor, "B N H W"]:
    """Each rectangle (u_min, v_min, u_max, v_max) on its own, tested at pixel centres: 1 inside, 0 outside."""
    centres = torch.arange(resolution, dtype=rects.dtype, device=rects.device) + 0.5
    u_min, v_min, u_max, v_max = (rects[..., k, None] for k in range(4))  # each (B, N, 1)
    inside_u = (centres >= u_min) & (centres <= u_max)  # (B, N, W)
    inside_v = (centres >= v_min) & (centres <= v_max)  # (B, N, H)
    return (inside_v[..., :, None] & inside_u[..., None, :]).to(rects.dtype)


def projected_box_mask(scene: SceneParameters, resolution: int, pad: float = 0.0) -> Float[Tensor, "B 1 H W"]:
    """1 where a pixel centre lies in the projected-box rectangle of some present object, else 0."""
    return rects_to_mask(projected_box_rects(scene, resolution, pad), resolution)
