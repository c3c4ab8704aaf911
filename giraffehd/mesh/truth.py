"""The true surface of a synthetic object class, as points: what an exported mesh is compared against.

The classes of the synthetic sets are unions of primitives in the box frame [-1, 1]^3
(:mod:`giraffehd.data.synthetic.shapes`). Points are drawn uniformly by area on every part's surface, and
those inside another part are dropped, which leaves the surface of the union.
Axis legend: P points.
"""

import math

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.data.synthetic.shapes import SHAPES, Part
from giraffehd.rendering.transforms import rotation_from_axis_angle


def _rotation(part: Part) -> Tensor:
    return rotation_from_axis_angle(torch.tensor(part.rotation_axis_angle_deg, dtype=torch.float64))


def _area(part: Part) -> float:
    a, b, c = part.half_size
    if part.primitive == "box":
        return 8 * (a * b + b * c + a * c)
    if part.primitive == "cylinder":  # axis y: side (elliptic side taken as the mean radius) and two caps
        radius = (a + c) / 2
        return 2 * math.pi * radius * 2 * b + 2 * math.pi * a * c
    return 4 * math.pi * ((a * b) ** 1.6 + (a * c) ** 1.6 + (b * c) ** 1.6) ** (1 / 1.6) / 3 ** (1 / 1.6)  # Thomsen


def _unit_surface(primitive: str, half_size, count: int, rng: torch.Generator) -> Tensor:
    """Points uniform by area on the part's surface in its own frame (before rotation and offset)."""
    a, b, c = half_size
    if primitive == "box":
        areas = torch.tensor([b * c, b * c, a * c, a * c, a * b, a * b], dtype=torch.float64)
        face = torch.multinomial(areas, count, replacement=True, generator=rng)
        uv = torch.rand(count, 2, generator=rng, dtype=torch.float64) * 2 - 1
        points = torch.zeros(count, 3, dtype=torch.float64)
        axis, sign = face // 2, (face % 2).double() * 2 - 1
        others = torch.tensor([[1, 2], [0, 2], [0, 1]])[axis]
        points[torch.arange(count), axis] = sign
        points[torch.arange(count), others[:, 0]] = uv[:, 0]
        points[torch.arange(count), others[:, 1]] = uv[:, 1]
    elif primitive == "cylinder":
        side, cap = 2 * math.pi * (a + c) / 2 * 2 * b, 2 * math.pi * a * c
        on_side = torch.rand(count, generator=rng, dtype=torch.float64) < side / (side + cap)
        angle = torch.rand(count, generator=rng, dtype=torch.float64) * 2 * math.pi
        radius = torch.where(on_side, torch.ones(count, dtype=torch.float64),
                             torch.rand(count, generator=rng, dtype=torch.float64).sqrt())  # fmt: skip
        height = torch.where(on_side, torch.rand(count, generator=rng, dtype=torch.float64) * 2 - 1,
                             torch.randint(0, 2, (count,), generator=rng).double() * 2 - 1)  # fmt: skip
        points = torch.stack([radius * angle.cos(), height, radius * angle.sin()], dim=-1)
    else:
        direction = torch.randn(count, 3, generator=rng, dtype=torch.float64)
        points = direction / direction.norm(dim=-1, keepdim=True)
    return points * torch.tensor(half_size, dtype=torch.float64)


def _inside(part: Part, points: Tensor) -> Tensor:
    """Strictly inside ``part`` (a little margin, so that points on its own surface are not)."""
    local = (points - torch.tensor(part.centre, dtype=torch.float64)) @ _rotation(part)
    local = local / torch.tensor(part.half_size, dtype=torch.float64)
    inner = 1 - 1e-6
    if part.primitive == "box":
        return local.abs().amax(dim=-1) < inner
    if part.primitive == "cylinder":
        return (local[:, 0] ** 2 + local[:, 2] ** 2 < inner) & (local[:, 1].abs() < inner)
    return local.norm(dim=-1) < inner


def surface_points(class_name: str, count: int, seed: int = 0) -> Float[Tensor, "P 3"]:
    """About ``count`` points uniform on the surface of class ``class_name``'s union of parts (box frame)."""
    if class_name not in SHAPES:
        raise ValueError(f"unknown class {class_name!r}; known: {', '.join(SHAPES)}")
    parts = SHAPES[class_name]
    rng = torch.Generator().manual_seed(seed)
    areas = torch.tensor([_area(p) for p in parts], dtype=torch.float64)
    per_part = torch.multinomial(areas, count, replacement=True, generator=rng).bincount(minlength=len(parts))
    kept = []
    for index, (part, n) in enumerate(zip(parts, per_part.tolist(), strict=True)):
        local = _unit_surface(part.primitive, part.half_size, n, rng)
        points = local @ _rotation(part).T + torch.tensor(part.centre, dtype=torch.float64)
        covered = torch.zeros(n, dtype=torch.bool)
        for other_index, other in enumerate(parts):
            if other_index != index:
                covered |= _inside(other, points)
        kept.append(points[~covered])
    return torch.cat(kept).float()
