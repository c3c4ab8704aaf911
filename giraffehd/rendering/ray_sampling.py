"""Placing samples along rays: near/far sampling, and samples only inside an object's box.

Each sample stands for one of ``num_samples`` equal bins between ``near`` and ``far``: its depth is the
bin centre (deterministic, for rendering) or a uniform draw inside the bin (stratified jitter, for
training), and its ``delta`` is the bin width. With these deltas, constant density sigma over [near, far]
integrates exactly to an optical depth sigma * (far - near), whatever the number of samples.

Axis legend: B scenes, N objects, R rays, S samples.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from giraffehd.rendering.rays import Rays
from giraffehd.rendering.transforms import BoxTransform, world_to_box_rays

_TINY_DIRECTION = 1e-12


@dataclass(frozen=True)
class BoxHits:
    """Where rays enter and leave an axis-aligned box. Rays that miss have near = far = 0."""

    near: Float[Tensor, "*batch"]
    far: Float[Tensor, "*batch"]
    hit: Bool[Tensor, "*batch"]


@dataclass(frozen=True)
class RaySamples:
    """Sample depths along rays and the width of the bin each sample stands for."""

    depths: Float[Tensor, "*batch S"]
    deltas: Float[Tensor, "*batch S"]


@dataclass(frozen=True)
class BoxSamples:
    """Samples placed inside each object's box.

    ``points`` are in the object's box frame (what a field is evaluated on); ``depths`` are world
    distances along the world ray, comparable across objects.
    """

    points: Float[Tensor, "B N R S 3"]
    depths: Float[Tensor, "B N R S"]
    deltas: Float[Tensor, "B N R S"]
    hit: Bool[Tensor, "B N R"]


def intersect_box(rays: Rays, half_size: float = 1.0) -> BoxHits:
    """Slab-method intersection of rays with the box [-half_size, half_size]^3 of their own frame.

    Depths are in units of the ray parameter t, clamped to t >= 0 (a ray starting inside the box
    enters at 0). A ray counts as a hit when it spends a positive length inside the box.
    """
    directions = rays.directions
    tiny = torch.full_like(directions, _TINY_DIRECTION)
    safe = torch.where(directions.abs() < _TINY_DIRECTION, torch.copysign(tiny, directions), directions)
    t_low = (-half_size - rays.origins) / safe
    t_high = (half_size - rays.origins) / safe
    near = torch.minimum(t_low, t_high).amax(dim=-1).clamp(min=0.0)
    far = torch.maximum(t_low, t_high).amin(dim=-1)
    hit = far > near
    zero = torch.zeros_like(near)
    return BoxHits(near=torch.where(hit, near, zero), far=torch.where(hit, far, zero), hit=hit)


def sample_depths(
    near: Float[Tensor, "*batch"],
    far: Float[Tensor, "*batch"],
    num_samples: int,
    stratified: bool = False,
    rng: torch.Generator | None = None,
) -> RaySamples:
    """``num_samples`` depths per ray between ``near`` and ``far``, in equal bins.

    ``stratified=False`` puts each sample at its bin centre (deterministic); ``stratified=True`` draws
    it uniformly inside its bin with ``rng`` (required, so that training runs are seedable).
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    shape = (*near.shape, num_samples)
    if stratified:
        if rng is None:
            raise ValueError("stratified sampling needs an rng (a torch.Generator: explicit, seedable randomness)")
        offsets = torch.rand(shape, generator=rng, dtype=near.dtype, device=near.device)
    else:
        offsets = torch.full(shape, 0.5, dtype=near.dtype, device=near.device)
    bins = torch.arange(num_samples, dtype=near.dtype, device=near.device)
    width = (far - near)[..., None] / num_samples
    depths = near[..., None] + (bins + offsets) * width
    return RaySamples(depths=depths, deltas=width.expand(shape))


def sample_in_boxes(
    rays: Rays,
    transform: BoxTransform,
    num_samples: int,
    half_size: float = 1.0,
    stratified: bool = False,
    rng: torch.Generator | None = None,
) -> BoxSamples:
    """Place ``num_samples`` samples on each world ray (B, R) inside each of the N object boxes.

    Rays that miss a box get zero-width bins (deltas = 0), so whatever a field returns there adds
    nothing when rendered.
    """
    box_rays = world_to_box_rays(rays, transform)
    hits = intersect_box(box_rays, half_size)
    samples = sample_depths(hits.near, hits.far, num_samples, stratified, rng)
    return BoxSamples(points=box_rays.at(samples.depths), depths=samples.depths, deltas=samples.deltas, hit=hits.hit)
