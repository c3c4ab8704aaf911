"""Rotations and object (box) transforms.

Every object lives in its own *box frame*: the unit box [-1, 1]^3 (or [-h, h]^3 with a half size
``h``). An object's pose maps box coordinates to world coordinates as

    x_world = rotation @ (scale * x_box) + translation

with a per-axis ``scale`` (scene units), a 3x3 ``rotation`` and a ``translation`` (scene units).
Angles are given in degrees; see :mod:`giraffehd.rendering.camera` for the axis convention (+y up,
positive rotation about +y is counter-clockwise seen from above: +90 degrees takes +x to -z).

Axis legend: B scenes, N objects, P points, R rays.
"""

import math
from dataclasses import dataclass

import kornia
import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.rendering.rays import Rays


def rotation_about_up(angle_deg: Float[Tensor, "*batch"]) -> Float[Tensor, "*batch 3 3"]:
    """Right-handed rotation about the up axis (+y) by ``angle_deg`` degrees."""
    angle = torch.deg2rad(angle_deg)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(angle), torch.ones_like(angle)
    rows = (
        torch.stack([cos, zero, sin], dim=-1),
        torch.stack([zero, one, zero], dim=-1),
        torch.stack([-sin, zero, cos], dim=-1),
    )
    return torch.stack(rows, dim=-2)


def rotation_about_right(angle_deg: Float[Tensor, "*batch"]) -> Float[Tensor, "*batch 3 3"]:
    """Right-handed rotation about the +x axis by ``angle_deg`` degrees (+90 takes +y to +z)."""
    angle = torch.deg2rad(angle_deg)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(angle), torch.ones_like(angle)
    rows = (
        torch.stack([one, zero, zero], dim=-1),
        torch.stack([zero, cos, -sin], dim=-1),
        torch.stack([zero, sin, cos], dim=-1),
    )
    return torch.stack(rows, dim=-2)


def rotation_from_axis_angle(axis_angle_deg: Float[Tensor, "*batch 3"]) -> Float[Tensor, "*batch 3 3"]:
    """Arbitrary rotation from an axis-angle vector: direction = axis, length = angle in degrees.

    Right-handed about the axis, like :func:`rotation_about_up`. Uses kornia's Rodrigues formula.
    """
    batch_shape = axis_angle_deg.shape[:-1]
    flat = axis_angle_deg.reshape(-1, 3) * (math.pi / 180.0)
    return kornia.geometry.conversions.axis_angle_to_rotation_matrix(flat).reshape(*batch_shape, 3, 3)


@dataclass(frozen=True)
class BoxTransform:
    """Poses of N objects in each of B scenes: box frame -> world is ``R @ (s * x) + t``."""

    scale: Float[Tensor, "B N 3"]
    rotation: Float[Tensor, "B N 3 3"]
    translation: Float[Tensor, "B N 3"]

    def __post_init__(self) -> None:
        b, n = self.scale.shape[:2]
        expected = {"scale": (b, n, 3), "rotation": (b, n, 3, 3), "translation": (b, n, 3)}
        for name, shape in expected.items():
            actual = tuple(getattr(self, name).shape)
            if actual != shape:
                raise ValueError(f"BoxTransform.{name} has shape {actual}, expected {shape}")

    @property
    def num_objects(self) -> int:
        return self.scale.shape[1]


def box_to_world(points: Float[Tensor, "B N P 3"], transform: BoxTransform) -> Float[Tensor, "B N P 3"]:
    """Map points from each object's box frame to the world frame."""
    scaled = points * transform.scale[:, :, None, :]
    rotated = torch.einsum("bnij,bnpj->bnpi", transform.rotation, scaled)
    return rotated + transform.translation[:, :, None, :]


def world_to_box(points: Float[Tensor, "B N P 3"], transform: BoxTransform) -> Float[Tensor, "B N P 3"]:
    """Map world points into each object's box frame (inverse of :func:`box_to_world`)."""
    centred = points - transform.translation[:, :, None, :]
    unrotated = torch.einsum("bnji,bnpj->bnpi", transform.rotation, centred)
    return unrotated / transform.scale[:, :, None, :]


def world_to_box_rays(rays: Rays, transform: BoxTransform) -> Rays:
    """Express world rays (B, R) in each object's box frame: the result has batch shape (B, N, R).

    Directions are transformed linearly and *not* renormalised, so a depth ``t`` along a box-frame
    ray is the same world distance as along the world ray: ``o_box + t d_box`` is the box-frame image
    of ``o + t d``.
    """
    if rays.origins.dim() != 3:
        raise ValueError(f"world rays must have shape (B, R, 3), got {tuple(rays.origins.shape)}")
    num_objects = transform.num_objects
    origins_box = world_to_box(rays.origins[:, None].expand(-1, num_objects, -1, -1), transform)
    rotated = torch.einsum("bnji,brj->bnri", transform.rotation, rays.directions)
    directions_box = rotated / transform.scale[:, :, None, :]
    return Rays(origins=origins_box, directions=directions_box)
