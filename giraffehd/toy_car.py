"""A hand-made feature field: a toy car built from boxes, in its own box frame [-1, 1]^3.

It needs no training, so it exercises the rendering core end to end (the pre-training demo) and gives
tests a scene whose geometry is known. The car is deliberately asymmetric so that its rotation can be
read from an image: its nose (yellow) points to +x of the box frame, the cabin sits towards the back
(-x), and it stands on four dark wheels.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

# (centre, half extents, colour) of each part, in box-frame units.
_PARTS = (
    ((0.0, -0.2, 0.0), (0.9, 0.25, 0.45), None),  # body: takes the body colour
    ((-0.3, 0.25, 0.0), (0.4, 0.2, 0.38), (0.75, 0.85, 0.95)),  # cabin, towards the back
    ((0.88, -0.15, 0.0), (0.1, 0.15, 0.4), (1.0, 0.85, 0.1)),  # nose
    ((0.55, -0.5, 0.42), (0.2, 0.2, 0.08), (0.08, 0.08, 0.08)),  # wheels
    ((0.55, -0.5, -0.42), (0.2, 0.2, 0.08), (0.08, 0.08, 0.08)),
    ((-0.55, -0.5, 0.42), (0.2, 0.2, 0.08), (0.08, 0.08, 0.08)),
    ((-0.55, -0.5, -0.42), (0.2, 0.2, 0.08), (0.08, 0.08, 0.08)),
)


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
