"""Renders synthetic scenes with exact ray-surface intersections, Lambert shading and supersampling.

It uses the project's own camera, object transforms and convention (giraffehd.rendering), so its
labels mean what the generator's knobs mean. Axis legend: B scenes, N objects, R rays.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from giraffehd.data.synthetic.shapes import SHAPES, Part
from giraffehd.rendering.camera import camera_to_world, generate_rays, intrinsics_from_fov
from giraffehd.rendering.primitives import PRIMITIVES
from giraffehd.rendering.ray_sampling import intersect_box
from giraffehd.rendering.rays import Rays
from giraffehd.rendering.transforms import BoxTransform, rotation_about_up, rotation_from_axis_angle, world_to_box_rays
from giraffehd.scene import SceneParameters


@dataclass(frozen=True)
class Lighting:
    """A directional light (direction towards the light, world frame) plus ambient, and the backdrop:
    a vertical gradient from ``backdrop_bottom`` (looking down) to ``backdrop_top`` (looking up)."""

    direction: tuple[float, float, float] = (0.4, 0.8, 0.6)
    ambient: float = 0.35
    backdrop_top: tuple[float, float, float] = (0.82, 0.86, 0.92)
    backdrop_bottom: tuple[float, float, float] = (0.55, 0.55, 0.53)


@dataclass(frozen=True)
class SyntheticImages:
    """Images in [0, 1], the foreground mask and each object's share of each pixel (antialiased)."""

    image: Float[Tensor, "B 3 H W"]
    mask: Float[Tensor, "B 1 H W"]
    object_coverage: Float[Tensor, "B N H W"]


@dataclass(frozen=True)
class Surfaces:
    """The nearest surface on each of M rays: depth (inf: none), colour, box-frame normal, owner object."""

    depth: Float[Tensor, " M"]
    colour: Float[Tensor, "M 3"]
    normal: Float[Tensor, "M 3"]
    owner: Int[Tensor, " M"]


def render_synthetic(
    scene: SceneParameters,
    object_class: Int[Tensor, "B N"],
    object_colour: Float[Tensor, "B N 3"],
    class_names: Sequence[str],
    resolution: int,
    lighting: Lighting = Lighting(),
    supersampling: int = 2,
) -> SyntheticImages:
    """Render B scenes; ``object_class`` indexes ``class_names`` (keys of SHAPES). Latent codes are ignored.

    Only rays that cross some present object's box are intersected with its parts; the rest see the
    backdrop.
    """
    unknown = [name for name in class_names if name not in SHAPES]
    if unknown:
        raise ValueError(f"unknown synthetic classes {unknown}; known: {', '.join(SHAPES)}")
    b, n = object_class.shape
    size = resolution * supersampling
    num_rays = size * size
    options = {"dtype": scene.camera_radius.dtype, "device": scene.camera_radius.device}
    pose = camera_to_world(scene.camera_azimuth_deg, scene.camera_elevation_deg, scene.camera_radius)
    rays = generate_rays(pose, intrinsics_from_fov(scene.camera_fov_deg, size, size), size, size)
    rotation = rotation_about_up(scene.object_rotation_deg)
    transform = BoxTransform(scale=scene.object_scale, rotation=rotation, translation=scene.object_translation)
    box_rays = world_to_box_rays(rays, transform)  # (B, N, R)

    candidates = intersect_box(box_rays).hit & scene.object_present[:, :, None]
    ray_index = candidates.any(dim=1).flatten().nonzero()[:, 0]  # into B * R
    batch_index = ray_index // num_rays

    def per_ray(x: Tensor) -> Tensor:  # (B, N, R, ...) -> (M, N, ...)
        return x.movedim(2, 1).reshape(b * num_rays, n, *x.shape[3:])[ray_index]

    surfaces = _nearest_surfaces(
        Rays(origins=per_ray(box_rays.origins), directions=per_ray(box_rays.directions)),
        object_class[batch_index],
        scene.object_present[batch_index],
        object_colour[batch_index],
        class_names,
    )
    owner = surfaces.owner.clamp(min=0)
    inverse_scale = transform.scale.reciprocal()[batch_index, owner]
    normal = torch.einsum("mij,mj->mi", transform.rotation[batch_index, owner], surfaces.normal * inverse_scale)
    light = torch.nn.functional.normalize(torch.tensor(lighting.direction, **options), dim=0)
    shade = lighting.ambient + (1 - lighting.ambient) * (torch.nn.functional.normalize(normal, dim=-1) @ light).clamp(
        min=0
    )
    hit = torch.isfinite(surfaces.depth)

    upness = (rays.directions[..., 1:2] * 8).sigmoid().reshape(b * num_rays, 1)
    top, bottom = torch.tensor(lighting.backdrop_top, **options), torch.tensor(lighting.backdrop_bottom, **options)
    pixels = bottom * (1 - upness) + top * upness  # the backdrop, (B * R, 3)
    pixels[ray_index] = torch.where(hit[:, None], surfaces.colour * shade[:, None], pixels[ray_index])
    coverage = torch.zeros(b * num_rays, n, **options)
    coverage[ray_index] = torch.nn.functional.one_hot(owner, n).to(coverage.dtype) * hit[:, None].to(coverage.dtype)

    def downsample(x: Tensor) -> Tensor:  # (B * R, C) at size^2 -> (B, C, resolution, resolution)
        image = x.reshape(b, size, size, -1).permute(0, 3, 1, 2)
        return torch.nn.functional.avg_pool2d(image, supersampling) if supersampling > 1 else image

    object_coverage = downsample(coverage)
    return SyntheticImages(
        image=downsample(pixels).clamp(0, 1),
        mask=object_coverage.sum(dim=1, keepdim=True),
        object_coverage=object_coverage,
    )


def _nearest_surfaces(
    rays: Rays,
    object_class: Int[Tensor, "M N"],
    present: Bool[Tensor, "M N"],
    object_colour: Float[Tensor, "M N 3"],
    class_names: Sequence[str],
) -> Surfaces:
    """For each ray (M, in the box frames of its scene's N objects), the nearest part of any object."""
    m = rays.origins.shape[0]
    options = {"dtype": rays.origins.dtype, "device": rays.origins.device}
    depth = torch.full((m,), torch.inf, **options)
    colour, normal = torch.zeros(m, 3, **options), torch.zeros(m, 3, **options)
    owner = torch.full((m,), -1, dtype=torch.long, device=depth.device)
    for class_index, name in enumerate(class_names):
        selected = (object_class == class_index) & present  # (M, N)
        if not selected.any():
            continue
        for part in SHAPES[name]:
            hit = _hit_part(rays, part)
            part_depth = torch.where(selected & hit.hit, hit.depth, torch.inf)  # (M, N)
            nearest_depth, nearest_object = part_depth.min(dim=1)
            closer = nearest_depth < depth
            picked = hit.normal.gather(1, nearest_object[:, None, None].expand(-1, 1, 3))[:, 0]
            if part.colour is None:
                picked_colour = object_colour.gather(1, nearest_object[:, None, None].expand(-1, 1, 3))[:, 0]
            else:
                picked_colour = torch.tensor(part.colour, **options).expand(m, 3)
            depth = torch.where(closer, nearest_depth, depth)
            colour = torch.where(closer[:, None], picked_colour, colour)
            normal = torch.where(closer[:, None], _part_normal_to_box(picked, part), normal)
            owner = torch.where(closer, nearest_object, owner)
    return Surfaces(depth=depth, colour=colour, normal=normal, owner=owner)


def _rotate(x: Tensor, rotation: Tensor) -> Tensor:
    """x @ rotation for row vectors (..., 3) and one 3x3 matrix, as three fused multiply-adds
    (faster on CPU than a matrix product whose inner size is 3)."""
    return x[..., 0:1] * rotation[0] + x[..., 1:2] * rotation[1] + x[..., 2:3] * rotation[2]


def _part_rotation(part: Part, options: dict) -> Tensor | None:
    if not any(part.rotation_axis_angle_deg):
        return None
    return rotation_from_axis_angle(torch.tensor(part.rotation_axis_angle_deg, **options))


def _hit_part(box_rays: Rays, part: Part):
    """Intersect box-frame rays (B, N, R) with one part, in the part's own frame."""
    options = {"dtype": box_rays.origins.dtype, "device": box_rays.origins.device}
    rotation = _part_rotation(part, options)
    centre, half = torch.tensor(part.centre, **options), torch.tensor(part.half_size, **options)
    origins, directions = box_rays.origins - centre, box_rays.directions
    if rotation is not None:  # R^T v, written for row vectors as v @ R
        origins, directions = _rotate(origins, rotation), _rotate(directions, rotation)
    return PRIMITIVES[part.primitive](Rays(origins=origins / half, directions=directions / half))


def _part_normal_to_box(normal: Tensor, part: Part) -> Tensor:
    """Normals transform by the inverse transpose of part -> box: R_part H^-1 n (not normalised)."""
    options = {"dtype": normal.dtype, "device": normal.device}
    in_box = normal / torch.tensor(part.half_size, **options)
    rotation = _part_rotation(part, options)
    return in_box if rotation is None else _rotate(in_box, rotation.T)
