"""Where the object sits in an image, and the image moved and resized to put it where render-and-match
(render_match.py) compares it: the projected centre of a translated object, area-or-bilinear resizing,
and the warp that centres and rescales an object.

Axis legend: B images, E elevations (one placement each), P pixels per side.
"""

from jaxtyping import Float
from torch import Tensor
from torch.nn import functional as F

from giraffehd.evaluation.degradations import warp
from giraffehd.rendering.camera import camera_to_world, intrinsics_from_fov, project_points


def centre_offsets(
    translation: Float[Tensor, "B 3"],
    azimuth_deg: Float[Tensor, " B"],
    elevations_deg: Float[Tensor, " E"],
    radius: Float[Tensor, " B"],
    fov_deg: Float[Tensor, " B"],
    resolution: int,
) -> Float[Tensor, "B E 2"]:
    """Pixels (right, down) from the image centre to the projected ``translation``, for each elevation."""
    b, e = translation.shape[0], elevations_deg.shape[0]
    azimuth, radius, fov = (x.repeat_interleave(e) for x in (azimuth_deg, radius, fov_deg))
    pose = camera_to_world(azimuth, elevations_deg.repeat(b), radius)
    points = translation.repeat_interleave(e, dim=0)[:, None]
    pixels = project_points(points, pose, intrinsics_from_fov(fov, resolution, resolution)).pixels[:, 0]
    return (pixels - resolution / 2).reshape(b, e, 2)


def to_size(images: Float[Tensor, "B C h h"], resolution: int) -> Float[Tensor, "B C P P"]:
    """Area averaging down (as a camera's pixels average the light), bilinear up."""
    size = images.shape[-1]
    if size == resolution:
        return images
    if size > resolution:
        if size % resolution == 0:
            return F.avg_pool2d(images, size // resolution)
        return F.interpolate(images, size=(resolution, resolution), mode="area")
    return F.interpolate(images, size=(resolution, resolution), mode="bilinear", align_corners=False)


def placed(
    images: Float[Tensor, "B 3 h h"], offsets: Float[Tensor, "B E 2"], scale: Float[Tensor, "B E"], resolution: int
) -> Float[Tensor, "B E 3 P P"]:
    """E versions of each image: its object moved from ``offsets`` (pixels of the image) to the centre and
    resized by 1 / ``scale``, then brought to ``resolution``."""
    b, e = offsets.shape[:2]
    factor = scale.reshape(b * e)
    # Bicubic: a bilinear half-pixel shift blurs, and the search would pick shifts for their blur.
    moved = warp(
        images.repeat_interleave(e, dim=0), -offsets.reshape(b * e, 2) / factor[:, None], 1 / factor, "bicubic"
    )
    return to_size(moved, resolution).reshape(b, e, 3, resolution, resolution)
