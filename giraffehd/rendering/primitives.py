"""Ray-surface intersections with unit primitives, in the primitive's own frame.

Used by the synthetic dataset's renderer (surfaces with exact normals, no volume rendering). Each
function takes rays expressed in the primitive's frame (directions need not be unit length: depths are
then in units of the original ray) and returns the first hit in front of the origin.

* unit box: [-1, 1]^3
* unit sphere: |x| <= 1
* unit cylinder: x^2 + z^2 <= 1, -1 <= y <= 1 (axis along +y, capped)
"""

from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from giraffehd.rendering.ray_sampling import intersect_box
from giraffehd.rendering.rays import Rays

_EPS = 1e-9


@dataclass(frozen=True)
class SurfaceHit:
    """First intersection along each ray: depth (inf where missed), hit flag, outward unit normal."""

    depth: Float[Tensor, "*batch"]
    hit: Bool[Tensor, "*batch"]
    normal: Float[Tensor, "*batch 3"]


def _first_positive(t0: Tensor, t1: Tensor) -> tuple[Tensor, Tensor]:
    """The smaller of two roots that is > 0 (t0 <= t1), and whether one exists."""
    t = torch.where(t0 > _EPS, t0, t1)
    return t, t > _EPS


def hit_box(rays: Rays) -> SurfaceHit:
    """Entry point into [-1, 1]^3; a ray starting inside gets no hit (we only see outer surfaces)."""
    hits = intersect_box(rays)
    hit = hits.hit & (hits.near > _EPS)
    point = rays.origins + hits.near[..., None] * rays.directions
    axis = point.abs().argmax(dim=-1, keepdim=True)
    normal = torch.zeros_like(point).scatter(-1, axis, point.gather(-1, axis).sign())
    return SurfaceHit(depth=torch.where(hit, hits.near, torch.inf), hit=hit, normal=normal)


def hit_sphere(rays: Rays) -> SurfaceHit:
    """Entry point into the unit sphere."""
    o, d = rays.origins, rays.directions
    a = (d * d).sum(-1)
    b = (o * d).sum(-1)
    c = (o * o).sum(-1) - 1
    disc = b * b - a * c
    root = torch.sqrt(disc.clamp(min=0))
    t, positive = _first_positive((-b - root) / a, (-b + root) / a)
    hit = (disc > 0) & positive & (c > 0)
    point = o + t[..., None] * d
    normal = point / point.norm(dim=-1, keepdim=True).clamp(min=_EPS)
    return SurfaceHit(depth=torch.where(hit, t, torch.inf), hit=hit, normal=normal)


def hit_cylinder(rays: Rays) -> SurfaceHit:
    """Entry point into the capped unit cylinder along +y: the side or one of the two caps."""
    o, d = rays.origins, rays.directions
    # Side: the infinite cylinder x^2 + z^2 = 1, kept where |y| <= 1.
    a = d[..., 0] ** 2 + d[..., 2] ** 2
    b = o[..., 0] * d[..., 0] + o[..., 2] * d[..., 2]
    c = o[..., 0] ** 2 + o[..., 2] ** 2 - 1
    disc = b * b - a * c
    safe_a = torch.where(a > _EPS, a, torch.ones_like(a))
    t_side = (-b - torch.sqrt(disc.clamp(min=0))) / safe_a
    y_side = o[..., 1] + t_side * d[..., 1]
    side = (a > _EPS) & (disc > 0) & (t_side > _EPS) & (y_side.abs() <= 1)
    # Caps: the planes y = +-1, kept inside the unit disc; the one facing the ray origin.
    safe_dy = torch.where(d[..., 1].abs() > _EPS, d[..., 1], torch.full_like(d[..., 1], _EPS))
    cap_y = torch.where(o[..., 1] > 0, torch.ones_like(o[..., 1]), -torch.ones_like(o[..., 1]))
    t_cap = (cap_y - o[..., 1]) / safe_dy
    x_cap = o[..., 0] + t_cap * d[..., 0]
    z_cap = o[..., 2] + t_cap * d[..., 2]
    cap = (o[..., 1].abs() > 1) & (t_cap > _EPS) & (x_cap**2 + z_cap**2 <= 1)
    t_side = torch.where(side, t_side, torch.inf)
    t_cap = torch.where(cap, t_cap, torch.inf)
    use_cap = t_cap < t_side
    depth = torch.minimum(t_side, t_cap)
    point = o + torch.where(torch.isfinite(depth), depth, torch.zeros_like(depth))[..., None] * d
    side_normal = torch.stack([point[..., 0], torch.zeros_like(point[..., 1]), point[..., 2]], dim=-1)
    side_normal = side_normal / side_normal.norm(dim=-1, keepdim=True).clamp(min=_EPS)
    cap_normal = torch.stack([torch.zeros_like(cap_y), cap_y, torch.zeros_like(cap_y)], dim=-1)
    normal = torch.where(use_cap[..., None], cap_normal, side_normal)
    return SurfaceHit(depth=depth, hit=side | cap, normal=normal)


PRIMITIVES = {"box": hit_box, "sphere": hit_sphere, "cylinder": hit_cylinder}
