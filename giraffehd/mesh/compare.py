"""How close a mesh is to a true surface: Chamfer distance and coverage, after the best turn about up.

Both surfaces are point sets in the truth's box frame (the mesh sampled uniformly by area). A model's
box need not be the dataset's: the demo car model's box has half sizes 0.21 x 0.15 x 0.11 scene units
where the synthetic car's is 0.2 on every axis, so a mesh in the model's box frame is first carried into
the truth's through scene units (:func:`between_boxes`). Distances are in units of the truth's box size
(the box frame spans 2, so frame distances are halved). A generator learns its
object in a canonical orientation of its own, so the mesh is first turned about the up axis (y) to where
it fits the truth best: a coarse search over whole turns, then a finer one around the best.
Axis legend: P, Q points.
"""

import math
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

BOX_SIZE = 2.0  # the box frame's side


@dataclass(frozen=True)
class SurfaceMatch:
    chamfer: float  # (mean nearest distance mesh -> truth + truth -> mesh) / 2, box sizes
    accuracy: float  # mean distance from the mesh to the truth, box sizes
    completeness: float  # mean distance from the truth to the mesh, box sizes
    covered: float  # share of the truth within ``tolerance`` of the mesh
    tolerance: float  # box sizes
    rotation_deg: float  # the turn about up applied to the mesh


def nearest(a: Float[Tensor, "P 3"], b: Float[Tensor, "Q 3"], chunk: int = 4096) -> Float[Tensor, " P"]:
    """For each point of ``a``, the distance to the nearest point of ``b``."""
    return torch.cat([torch.cdist(part, b).amin(dim=1) for part in a.split(chunk)])


def turned(points: Float[Tensor, "P 3"], angle_deg: float) -> Float[Tensor, "P 3"]:
    """``points`` turned about +y by ``angle_deg`` (right-handed, as object rotation)."""
    a = math.radians(angle_deg)
    rotation = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    return points @ rotation.T.to(points.dtype)


def between_boxes(
    points: Float[Tensor, "P 3"], from_half_sizes: Float[Tensor, " 3"], to_half_sizes: Float[Tensor, " 3"]
) -> Float[Tensor, "P 3"]:
    """Points of one box frame (half sizes ``from_half_sizes``, scene units) in another box frame with the
    same centre and orientation (half sizes ``to_half_sizes``)."""
    return points * (from_half_sizes.to(points.dtype) / to_half_sizes.to(points.dtype))


def match_surfaces(
    mesh_points: Float[Tensor, "P 3"], truth: Float[Tensor, "Q 3"], tolerance: float = 0.05, coarse_step: float = 10.0
) -> SurfaceMatch:
    """Compare ``mesh_points`` with ``truth`` (box frame) after the best turn about up."""

    def chamfer(angle: float, a: Tensor, b: Tensor) -> float:
        moved = turned(a, angle)
        return float((nearest(moved, b).mean() + nearest(b, moved).mean()) / 2)

    few_a, few_b = mesh_points[:: max(1, len(mesh_points) // 1500)], truth[:: max(1, len(truth) // 1500)]
    angles = [coarse_step * k for k in range(int(round(360 / coarse_step)))]
    best = min(angles, key=lambda angle: chamfer(angle, few_a, few_b))
    fine = [best + step for step in torch.linspace(-coarse_step, coarse_step, 21).tolist()]
    best = min(fine, key=lambda angle: chamfer(angle, few_a, few_b))
    moved = turned(mesh_points, best)
    to_truth, to_mesh = nearest(moved, truth) / BOX_SIZE, nearest(truth, moved) / BOX_SIZE
    return SurfaceMatch(
        chamfer=float((to_truth.mean() + to_mesh.mean()) / 2),
        accuracy=float(to_truth.mean()),
        completeness=float(to_mesh.mean()),
        covered=float((to_mesh <= tolerance).float().mean()),
        tolerance=tolerance,
        rotation_deg=best % 360,
    )
