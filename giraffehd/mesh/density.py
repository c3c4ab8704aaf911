"""An object's density on a regular grid over its box, in the box frame [-1, 1]^3.

Pure evaluation of the generator's object field with the object's shape style, exactly as rendering
evaluates it along rays (same field, same style, same truncation), on ``grid_size``^3 points.
Axis legend: G grid points per axis.
"""

import math

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.model.generator import Generator
from giraffehd.scene import SceneParameters

CHUNK = 65_536  # points per field evaluation (memory, not results)


def grid_points(grid_size: int) -> Float[Tensor, "G G G 3"]:
    """Cell-centred points of ``grid_size``^3 cells over [-1, 1]^3, indexed [x, y, z]."""
    if grid_size < 2:
        raise ValueError(f"grid_size must be at least 2, got {grid_size}")
    axis = (torch.arange(grid_size, dtype=torch.float32) + 0.5) / grid_size * 2 - 1
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1)


@torch.no_grad()
def object_density_grid(
    generator: Generator, scene: SceneParameters, object_index: int, grid_size: int = 96, truncation_psi: float = 1.0
) -> Float[Tensor, "G G G"]:
    """Object ``object_index``'s density (per scene unit along a ray) of scene 0 on the box-frame grid."""
    if not 0 <= object_index < scene.num_objects:
        raise ValueError(f"object_index must be in [0, {scene.num_objects - 1}], got {object_index}")
    device = next(generator.parameters()).device
    scene = scene.select(slice(0, 1)).to(device)
    styles = generator.styles(scene, truncation_psi)
    w_shape = styles.object_shape[:, object_index : object_index + 1]
    w_appearance = styles.object_appearance[:, object_index : object_index + 1]
    field = generator.features.object_field
    points = grid_points(grid_size).reshape(-1, 3).to(device)
    density = torch.cat(
        [field(chunk[None, None], w_shape, w_appearance).density[0, 0] for chunk in points.split(CHUNK)]
    )
    return density.reshape(grid_size, grid_size, grid_size).cpu()


def default_threshold(generator: Generator, scene: SceneParameters, object_index: int) -> float:
    """The density at which one sampling interval of rendering is half opaque: ln 2 / interval, with the
    interval the object's mean box size (scene units) over the renderer's samples per box."""
    size = 2 * float(scene.object_scale[0, object_index].mean())
    interval = size / generator.features.num_object_samples
    return math.log(2.0) / interval
