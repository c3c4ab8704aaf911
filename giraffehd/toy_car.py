"""A hand-made feature field: the synthetic dataset's car, as a density field of boxes in its box frame.

It needs no training, so it exercises the volume-rendering core end to end (the pre-training demo) and
gives tests a scene whose geometry is known. The geometry is the ``car`` of
:mod:`giraffehd.data.synthetic.shapes` (nose to +x), with each part replaced by its axis-aligned
bounding box (the round wheels become boxes).
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.data.synthetic.shapes import SHAPES, Part
from giraffehd.rendering.transforms import rotation_from_axis_angle


def _bounding_box(part: Part) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...] | None]:
    """(centre, axis-aligned half extents, colour) of a part; half extents are |R| @ half_size."""
    rotation = rotation_from_axis_angle(torch.tensor(part.rotation_axis_angle_deg))
    half = (rotation.abs() @ torch.tensor(part.half_size)).tolist()
    return part.centre, tuple(round(h, 6) for h in half), part.colour


# The body comes first and takes the body colour (colour None).
_PARTS = tuple(_bounding_box(part) for part in SHAPES["car"])


@dataclass(frozen=True)
class ToyCarSamples:
    """Density (per scene unit of the box frame), albedo in [0, 1] and outward normal of the nearest face."""

    density: Float[Tensor, "*batch"]
    albedo: Float[Tensor, "*batch 3"]
    normal: Float[Tensor, "*batch 3"]


def toy_car_field(
    points: Float[Tensor, "*batch 3"],
    body_colour: Float[Tensor, "*batch 3"],
    max_density: float = 200.0,
    softness: float = 0.015,
) -> ToyCarSamples:
    """Evaluate the toy car at box-frame points.

    Density rises from 0 to ``max_density`` across a shell of width ~``softness`` around each part's
    surface; each point takes the colour and face normal of the part it is deepest inside.
    """
    centres = torch.tensor([p[0] for p in _PARTS], dtype=points.dtype, device=points.device)
    extents = torch.tensor([p[1] for p in _PARTS], dtype=points.dtype, device=points.device)
    offset = points[..., None, :] - centres  # (*batch, parts, 3)
    excess = offset.abs() - extents
    distance = excess.amax(dim=-1)  # box signed distance (exact inside, a lower bound outside)
    part = distance.argmin(dim=-1)
    nearest = distance.gather(-1, part[..., None])[..., 0]
    density = max_density * torch.sigmoid(-nearest / softness)

    colours = [body_colour] + [
        torch.tensor(c, dtype=points.dtype, device=points.device).expand_as(body_colour) for _, _, c in _PARTS[1:]
    ]
    palette = torch.stack(colours, dim=-2)  # (*batch, parts, 3)
    albedo = palette.gather(-2, part[..., None, None].expand(*part.shape, 1, 3))[..., 0, :]

    part_excess = excess.gather(-2, part[..., None, None].expand(*part.shape, 1, 3))[..., 0, :]
    part_offset = offset.gather(-2, part[..., None, None].expand(*part.shape, 1, 3))[..., 0, :]
    face_axis = part_excess.argmax(dim=-1, keepdim=True)
    normal = torch.zeros_like(points).scatter(-1, face_axis, part_offset.gather(-1, face_axis).sign())
    return ToyCarSamples(density=density, albedo=albedo, normal=normal)
