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
from giraffehd.rendering.camera import generate_rays, intrinsics_from_fov
from giraffehd.rendering.primitives import PRIMITIVES, SurfaceHit, hit_box
from giraffehd.rendering.ray_sampling import intersect_box
from giraffehd.rendering.rays import Rays
from giraffehd.rendering.scene_frames import scene_boxes, scene_pose
from giraffehd.rendering.transforms import BoxTransform, rotation_from_axis_angle, world_to_box_rays
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

    Antialiasing is adaptive: one ray per pixel centre first, then the pixels whose 3x3 neighbourhood
    changes colour or coverage (edges) are replaced by the mean of ``supersampling``^2 sub-pixel rays.
    """
    unknown = [name for name in class_names if name not in SHAPES]
    if unknown:
        raise ValueError(f"unknown synthetic classes {unknown}; known: {', '.join(SHAPES)}")
    b, n = object_class.shape
    res = resolution
    pose = scene_pose(scene)
    transform = scene_boxes(scene)
    tracer = _Tracer(scene, transform, object_class, object_colour, class_names, lighting)

    rays = generate_rays(pose, intrinsics_from_fov(scene.camera_fov_deg, res, res), res, res)
    batch_index = torch.arange(b, device=pose.device).repeat_interleave(res * res)
    values = tracer(rays.origins.reshape(-1, 3), rays.directions.reshape(-1, 3), batch_index)  # (B*R, 3+N)
    values = values.reshape(b, res, res, -1)
    if supersampling > 1:
        edges = _edges(values.permute(0, 3, 1, 2))  # (B, H, W)
        if edges.any():
            ss = supersampling
            fine = generate_rays(
                pose, intrinsics_from_fov(scene.camera_fov_deg, res * ss, res * ss), res * ss, res * ss
            )

            def sub_rays(x: Tensor) -> Tensor:  # (B, (H ss)(W ss), 3) -> (E, ss * ss, 3) at the edge pixels
                x = x.reshape(b, res, ss, res, ss, 3).permute(0, 1, 3, 2, 4, 5)
                return x[edges].reshape(-1, ss * ss, 3)

            edge_batch = edges.nonzero()[:, 0].repeat_interleave(ss * ss)
            fine_values = tracer(
                sub_rays(fine.origins).reshape(-1, 3), sub_rays(fine.directions).reshape(-1, 3), edge_batch
            )
            values[edges] = fine_values.reshape(-1, ss * ss, values.shape[-1]).mean(dim=1)
    values = values.permute(0, 3, 1, 2)
    coverage = values[:, 3:]
    return SyntheticImages(
        image=values[:, :3].clamp(0, 1), mask=coverage.sum(dim=1, keepdim=True), object_coverage=coverage
    )


def _edges(values: Float[Tensor, "B C H W"], threshold: float = 1.5 / 255) -> Bool[Tensor, "B H W"]:
    """Pixels whose 3x3 neighbourhood spans more than ``threshold`` in any channel."""
    high = torch.nn.functional.max_pool2d(values, 3, stride=1, padding=1)
    low = -torch.nn.functional.max_pool2d(-values, 3, stride=1, padding=1)
    return ((high - low) > threshold).any(dim=1)


class _Tracer:
    """Colour and per-object coverage of arbitrary world rays, each belonging to scene ``batch_index``."""

    def __init__(self, scene, transform, object_class, object_colour, class_names, lighting) -> None:
        self.scene, self.transform = scene, transform
        self.object_class, self.object_colour = object_class, object_colour
        self.class_names, self.lighting = class_names, lighting

    def __call__(
        self, origins: Float[Tensor, "K 3"], directions: Float[Tensor, "K 3"], batch_index: Int[Tensor, " K"]
    ) -> Float[Tensor, "K C"]:
        """Returns (K, 3 + N): RGB in [0, 1], then a one-hot of the object seen (zeros for the backdrop)."""
        transform, lighting = self.transform, self.lighting
        n = self.object_class.shape[1]
        options = {"dtype": origins.dtype, "device": origins.device}
        # Each ray is a scene of its own (B = K, R = 1) with its scene's object poses.
        ray_transform = BoxTransform(
            scale=transform.scale[batch_index],
            rotation=transform.rotation[batch_index],
            translation=transform.translation[batch_index],
        )
        box_rays = world_to_box_rays(Rays(origins=origins[:, None], directions=directions[:, None]), ray_transform)
        box_rays = Rays(origins=box_rays.origins[:, :, 0], directions=box_rays.directions[:, :, 0])  # (K, N, 3)
        present = self.scene.object_present[batch_index]
        candidate = (intersect_box(box_rays).hit & present).any(dim=1).nonzero()[:, 0]
        surfaces = _nearest_surfaces(
            Rays(origins=box_rays.origins[candidate], directions=box_rays.directions[candidate]),
            self.object_class[batch_index[candidate]],
            present[candidate],
            self.object_colour[batch_index[candidate]],
            self.class_names,
        )
        owner = surfaces.owner.clamp(min=0)
        ray = torch.arange(len(candidate), device=owner.device)
        picked = (batch_index[candidate], owner)  # normals transform by the inverse transpose: R S^-1 n
        normal = torch.einsum("kij,kj->ki", transform.rotation[picked], surfaces.normal / transform.scale[picked])
        light = torch.nn.functional.normalize(torch.tensor(lighting.direction, **options), dim=0)
        lambert = (torch.nn.functional.normalize(normal, dim=-1) @ light).clamp(min=0)
        shade = lighting.ambient + (1 - lighting.ambient) * lambert
        hit = torch.isfinite(surfaces.depth)

        upness = (directions[:, 1:2] * 8).sigmoid()
        top, bottom = torch.tensor(lighting.backdrop_top, **options), torch.tensor(lighting.backdrop_bottom, **options)
        out = torch.zeros(len(origins), 3 + n, **options)
        out[:, :3] = bottom * (1 - upness) + top * upness
        out[candidate, :3] = torch.where(hit[:, None], surfaces.colour * shade[:, None], out[candidate, :3])
        one_hot = torch.zeros(len(candidate), n, **options)
        one_hot[ray, owner] = hit.to(one_hot.dtype)
        out[candidate, 3:] = one_hot
        return out


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
    rotated: dict[tuple[float, float, float], Rays] = {}  # box rays turned into each part orientation, once
    for class_index, name in enumerate(class_names):
        selected = (object_class == class_index) & present  # (M, N)
        if not selected.any():
            continue
        for part in SHAPES[name]:
            key = part.rotation_axis_angle_deg
            if key not in rotated:
                rotated[key] = _rotate_rays(rays, _part_rotation(part, options))
            hit = _hit_part(rotated[key], part)
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


def _rotate_rays(rays: Rays, rotation: Tensor | None) -> Rays:
    """Rays expressed in a frame turned by ``rotation``: R^T o and R^T d (row vectors: v @ R)."""
    if rotation is None:
        return rays
    return Rays(origins=_rotate(rays.origins, rotation), directions=_rotate(rays.directions, rotation))


def _hit_part(turned_rays: Rays, part: Part) -> SurfaceHit:
    """Intersect rays (M, N) with one part. The rays are in the object's box frame already turned into
    the part's orientation (:func:`_rotate_rays`); the part's centre and half size are applied here.

    Spheres and cylinders are first culled with their bounding box [-1, 1]^3 (cheaper to test), so the
    exact test runs only on the rays that can hit them.
    """
    options = {"dtype": turned_rays.origins.dtype, "device": turned_rays.origins.device}
    rotation = _part_rotation(part, options)
    centre = torch.tensor(part.centre, **options)
    turned_centre = centre if rotation is None else centre @ rotation
    half = torch.tensor(part.half_size, **options)
    part_rays = Rays(origins=(turned_rays.origins - turned_centre) / half, directions=turned_rays.directions / half)
    if part.primitive == "box":
        return hit_box(part_rays)
    near = intersect_box(part_rays).hit.nonzero(as_tuple=True)
    exact = PRIMITIVES[part.primitive](Rays(origins=part_rays.origins[near], directions=part_rays.directions[near]))
    depth = torch.full(part_rays.origins.shape[:-1], torch.inf, **options)
    hit = torch.zeros(part_rays.origins.shape[:-1], dtype=torch.bool, device=depth.device)
    normal = torch.zeros_like(part_rays.origins)
    depth[near], hit[near], normal[near] = exact.depth, exact.hit, exact.normal
    return SurfaceHit(depth=depth, hit=hit, normal=normal)


def _part_normal_to_box(normal: Tensor, part: Part) -> Tensor:
    """Normals transform by the inverse transpose of part -> box: R_part H^-1 n (not normalised)."""
    options = {"dtype": normal.dtype, "device": normal.device}
    in_box = normal / torch.tensor(part.half_size, **options)
    rotation = _part_rotation(part, options)
    return in_box if rotation is None else _rotate(in_box, rotation.T)
