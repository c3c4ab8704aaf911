"""Marching cubes over an object's density grid, to a triangle mesh in the box frame or in scene units.

Axis legend: V vertices, F faces.
"""

from dataclasses import dataclass

import mcubes
import numpy as np
import torch
from jaxtyping import Float, Int

from giraffehd.rendering.transforms import BoxTransform, box_to_world, rotation_about_up
from giraffehd.scene import SceneParameters


class EmptySurface(ValueError):
    """No surface at the threshold: the whole grid is on one side of it."""


@dataclass(frozen=True)
class Mesh:
    vertices: Float[np.ndarray, "V 3"]
    faces: Int[np.ndarray, "F 3"]
    colours: np.ndarray | None = None  # (V, 3) uint8 RGB, or None


def marching_cubes(density: torch.Tensor, threshold: float) -> Mesh:
    """The iso-surface density = ``threshold`` of a (G, G, G) grid of cell centres over [-1, 1]^3, in the
    box frame; faces wind counter-clockwise seen from outside (normals point towards lower density)."""
    grid = density.detach().cpu().double().numpy()
    low, high = float(grid.min()), float(grid.max())
    if not low < threshold < high:
        raise EmptySurface(
            f"no surface at threshold {threshold:.4g}: the object's density lies in [{low:.4g}, {high:.4g}]"
        )
    # Pad with empty space so that a surface touching the box's walls is closed.
    padded = np.pad(grid, 1, constant_values=min(low, 0.0))
    vertices, faces = mcubes.marching_cubes(padded, threshold)
    size = grid.shape[0]
    vertices = (vertices - 1 + 0.5) / size * 2 - 1  # padded index -> cell centre -> [-1, 1]
    return Mesh(vertices.astype(np.float32), faces.astype(np.int64))


def to_scene_units(mesh: Mesh, scene: SceneParameters, object_index: int) -> Mesh:
    """The mesh placed as object ``object_index`` of scene 0 sits: scaled, turned and moved (scene units)."""
    transform = BoxTransform(
        scale=scene.object_scale[:1, object_index : object_index + 1],
        rotation=rotation_about_up(scene.object_rotation_deg[:1, object_index : object_index + 1]),
        translation=scene.object_translation[:1, object_index : object_index + 1],
    )
    points = torch.from_numpy(mesh.vertices)[None, None].to(transform.scale.dtype)
    world = box_to_world(points, transform)[0, 0].numpy()
    return Mesh(world.astype(np.float32), mesh.faces, mesh.colours)


def drop_floaters(mesh: Mesh, min_share: float = 0.05) -> Mesh:
    """The mesh without its small disconnected pieces: parts whose area is under ``min_share`` of the
    largest part's (specks of density the renderer barely shows). Colours follow their vertices."""
    import trimesh

    shape = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    labels = trimesh.graph.connected_component_labels(shape.face_adjacency, node_count=len(shape.faces))
    areas = np.bincount(labels, weights=shape.area_faces)
    keep_faces = areas[labels] >= min_share * areas.max()
    faces = mesh.faces[keep_faces]
    used = np.unique(faces)
    remap = np.full(len(mesh.vertices), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    colours = None if mesh.colours is None else mesh.colours[used]
    return Mesh(mesh.vertices[used], remap[faces], colours)
