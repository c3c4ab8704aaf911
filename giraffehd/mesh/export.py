"""Export one scene's objects as meshes: PLY and GLB files (trimesh), in scene units or the box frame.

    from giraffehd.mesh.export import object_mesh
    mesh = object_mesh(model.generator, scene, object_index=0, grid_size=128)
    write_mesh(mesh, "renders/mesh/object_0.glb")

Scene units put every object where the scene puts it (the project's axis convention: +y up, see
giraffehd/rendering/camera.py), so the objects of a multi-object scene load together in place; the box
frame ([-1, 1]^3, the object's own frame) is what the synthetic set's true shapes are written in.
"""

from pathlib import Path

import numpy as np
import torch
import trimesh

from giraffehd.atomic import write_atomically
from giraffehd.mesh.colour import vertex_colours
from giraffehd.mesh.density import default_threshold, object_density_grid
from giraffehd.mesh.extract import Mesh, drop_floaters, marching_cubes, to_scene_units
from giraffehd.model.generator import Generator
from giraffehd.scene import SceneParameters

FORMATS = ("ply", "glb")
UNITS = ("scene", "box")


def object_mesh(
    generator: Generator,
    scene: SceneParameters,
    object_index: int,
    grid_size: int = 128,
    threshold: float | None = None,
    units: str = "scene",
    num_views: int = 8,
    truncation_psi: float = 1.0,
    floaters_share: float = 0.05,
) -> Mesh:
    """Object ``object_index`` of scene 0 as a coloured mesh. ``threshold``: the density of the surface
    (None: :func:`~giraffehd.mesh.density.default_threshold`, scaled by nothing); pieces smaller than
    ``floaters_share`` of the largest are dropped (0 keeps everything)."""
    if units not in UNITS:
        raise ValueError(f"units must be one of {', '.join(UNITS)}, got {units!r}")
    density = object_density_grid(generator, scene, object_index, grid_size, truncation_psi)
    level = default_threshold(generator, scene, object_index) if threshold is None else float(threshold)
    box = marching_cubes(density, level)
    if floaters_share > 0:
        box = drop_floaters(box, floaters_share)
    placed = to_scene_units(box, scene, object_index)
    colours = vertex_colours(generator, scene, object_index, placed.vertices, placed.faces, num_views, truncation_psi)
    chosen = placed if units == "scene" else box
    return Mesh(chosen.vertices, chosen.faces, colours)


def mesh_bytes(mesh: Mesh, file_type: str) -> bytes:
    if file_type not in FORMATS:
        raise ValueError(f"mesh format must be one of {', '.join(FORMATS)}, got {file_type!r}")
    colours = None
    if mesh.colours is not None:
        colours = np.concatenate([mesh.colours, np.full((len(mesh.colours), 1), 255, np.uint8)], axis=1)
    shape = trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_colors=colours, process=False)
    return shape.export(file_type=file_type)


def write_mesh(mesh: Mesh, path: str | Path) -> Path:
    """The mesh as PLY or GLB (by the suffix), written atomically."""
    path = Path(path)
    data = mesh_bytes(mesh, path.suffix.lstrip("."))
    return write_atomically(path, lambda f: f.write(data))


def preview(mesh: Mesh, scene: SceneParameters, size: int = 256) -> torch.Tensor:
    """(3, size, size) in [0, 1]: the mesh's coloured vertices splatted from the scene's camera, far to near
    (a look at the exported geometry beside the model's image; not a renderer)."""
    from giraffehd.rendering.camera import intrinsics_from_fov, project_points
    from giraffehd.rendering.scene_frames import scene_pose

    pose = scene_pose(scene.select(slice(0, 1)))
    projection = project_points(
        torch.from_numpy(mesh.vertices)[None], pose, intrinsics_from_fov(scene.camera_fov_deg[:1], size, size)
    )
    pixels, depth = projection.pixels[0].floor().long(), projection.depth[0]
    colours = (
        torch.from_numpy(mesh.colours).float() / 255 if mesh.colours is not None else torch.full((len(depth), 3), 0.5)
    )
    offsets = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]])  # 2x2 splats
    splats = (pixels[:, None] + offsets).reshape(-1, 2)
    near, colour = depth.repeat_interleave(4), colours.repeat_interleave(4, dim=0)
    keep = (splats >= 0).all(dim=1) & (splats < size).all(dim=1) & (near > 0)
    index, near, colour = splats[keep, 1] * size + splats[keep, 0], near[keep], colour[keep]
    nearest = torch.full((size * size,), float("inf")).scatter_reduce(0, index, near, "amin")  # a z-buffer
    front = near <= nearest[index]
    image = torch.ones(3, size * size)
    image[:, index[front]] = colour[front].T
    return image.reshape(3, size, size)
