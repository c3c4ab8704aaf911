"""Vertex colours from the model's own renders: the object alone, seen from several cameras around it.

The object fields hold features, not colours (a 2D renderer turns features into RGB), so a vertex takes
the colour of the rendered pixel it projects to, from the view that faces it most directly among those
that see it (its depth matches the rendered depth there; other objects are removed so that they cannot
hide it). Axis legend: V vertices, K views.
"""

import numpy as np
import torch
import trimesh
from torch.nn import functional

from giraffehd.model.frames import render
from giraffehd.model.generator import Generator
from giraffehd.rendering.camera import (
    MAX_ELEVATION_DEG,
    camera_position,
    intrinsics_from_fov,
    project_points,
)
from giraffehd.rendering.scene_frames import scene_pose
from giraffehd.scene import SceneParameters

# A vertex is seen in a view when it lies at most this far (scene units, relative to the object's size)
# behind the rendered depth of its pixel: the rendered depth is an expectation over a soft surface.
DEPTH_SLACK = 0.15


def vertex_colours(
    generator: Generator,
    scene: SceneParameters,
    object_index: int,
    vertices: np.ndarray,
    faces: np.ndarray,
    num_views: int = 8,
    truncation_psi: float = 1.0,
) -> np.ndarray:
    """(V, 3) uint8 colours for a mesh of object ``object_index`` of scene 0, ``vertices`` in scene units."""
    if num_views < 1:
        raise ValueError(f"num_views must be at least 1, got {num_views}")
    alone = scene.select(torch.zeros(num_views, dtype=torch.long))
    present = torch.zeros_like(alone.object_present)
    present[:, object_index] = True
    azimuth = alone.camera_azimuth_deg + torch.arange(num_views) * (360.0 / num_views)
    elevation = alone.camera_elevation_deg.clamp(-MAX_ELEVATION_DEG, MAX_ELEVATION_DEG)
    views = alone.replace(object_present=present, camera_azimuth_deg=azimuth, camera_elevation_deg=elevation)
    frames = render(generator, views, truncation_psi, batch_size=num_views)
    size = frames.image.shape[-1]
    points = torch.from_numpy(np.ascontiguousarray(vertices, dtype=np.float32))
    normals = torch.from_numpy(
        np.asarray(trimesh.Trimesh(vertices, faces, process=False).vertex_normals, dtype=np.float32)
    )
    pose = scene_pose(views)
    projection = project_points(
        points.expand(num_views, -1, -1), pose, intrinsics_from_fov(views.camera_fov_deg, size, size)
    )
    grid = (projection.pixels / size) * 2 - 1  # (K, V, 2) in [-1, 1] for grid_sample (x, y)
    colour = functional.grid_sample(frames.image, grid[:, None], align_corners=False)[:, :, 0]  # K 3 V
    depth = functional.grid_sample(
        functional.interpolate(frames.depth, size=size, mode="nearest"),
        grid[:, None],
        mode="nearest",
        align_corners=False,
    )[:, 0, 0]  # K V
    alpha = functional.grid_sample(
        functional.interpolate(frames.alpha, size=size, mode="nearest"),
        grid[:, None],
        mode="nearest",
        align_corners=False,
    )[:, 0, 0]
    towards = (
        camera_position(views.camera_azimuth_deg, views.camera_elevation_deg, views.camera_radius)[:, None] - points
    )
    facing = (functional.normalize(towards, dim=-1) * normals).sum(dim=-1)  # K V
    inside = (grid.abs() <= 1).all(dim=-1) & (projection.depth > 0)
    slack = DEPTH_SLACK * 2 * float(scene.object_scale[0, object_index].mean())
    seen = inside & (alpha >= 0.5) & (projection.depth <= depth + slack)
    score = torch.where(seen, facing, facing - 10.0)  # a view that sees the vertex beats any that does not
    score = torch.where(inside, score, torch.full_like(score, -100.0))
    best = score.argmax(dim=0)  # V
    chosen = colour.permute(2, 0, 1)[torch.arange(points.shape[0]), best]  # V 3
    return (chosen.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
