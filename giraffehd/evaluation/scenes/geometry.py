"""Where a scene's objects land in its image, and which object found in an image is which.

Objects are tied to readings by their knobs: each present object's projected centre (its translation
seen by the scene's camera, in the pixel convention of giraffehd.rendering.camera and the dataset's
``centre_pixel``) is matched to one found object by Hungarian assignment on pixel distance. Scenes are
told apart by how far their projected centres lie from each other.

Axis legend: B scenes, N object slots, K objects found.
"""

import torch
from jaxtyping import Float, Int
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from giraffehd.evaluation.scenes.evaluator import ObjectReading
from giraffehd.rendering.camera import intrinsics_from_fov, project_points
from giraffehd.rendering.scene_frames import scene_pose
from giraffehd.scene import SceneParameters, ScenePrior


def projected_centres(scene: SceneParameters, resolution: int) -> Float[Tensor, "B N 2"]:
    """Where each object's centre (its translation) lands in the image, (x, y) pixels."""
    pose = scene_pose(scene)
    intrinsics = intrinsics_from_fov(scene.camera_fov_deg, resolution, resolution)
    return project_points(scene.object_translation, pose, intrinsics).pixels


def separated(centres: Float[Tensor, "B N 2"], present: Tensor, min_separation_px: float | int) -> Tensor:
    """Per scene: every pair of present objects at least ``min_separation_px`` apart (B,)."""
    distance = torch.cdist(centres, centres)
    pair = present[:, :, None] & present[:, None, :] & ~torch.eye(centres.shape[1], dtype=torch.bool)
    return ~((distance < min_separation_px) & pair).any(dim=(1, 2))


def separated_scenes(
    prior: ScenePrior, count: int, seed: int, resolution: int, min_separation_px: float | int, max_draws: int = 200_000
) -> SceneParameters:
    """``count`` scenes from ``prior`` with every slot present and all centres apart (rejection sampling)."""
    rng = torch.Generator().manual_seed(seed)
    kept: list[SceneParameters] = []
    found = drawn = 0
    while found < count:
        if drawn >= max_draws:
            raise ValueError(
                f"min_separation_px={min_separation_px}: only {found} of {drawn} scenes keep {prior.num_objects} "
                f"objects that far apart; lower it"
            )
        scenes = prior.sample(1024, rng).replace(object_present=True)
        ok = separated(projected_centres(scenes, resolution), scenes.object_present, min_separation_px)
        kept.append(scenes.select(ok))
        found += int(ok.sum())
        drawn += 1024
    return SceneParameters.cat(kept).select(slice(0, count))


def match(expected: Float[Tensor, "N 2"], found: Float[Tensor, "K 2"]) -> Int[Tensor, " N"]:
    """For each expected centre, the index of the found object assigned to it (-1: none left)."""
    assigned = torch.full((expected.shape[0],), -1, dtype=torch.long)
    if expected.shape[0] == 0 or found.shape[0] == 0:
        return assigned
    rows, cols = linear_sum_assignment(torch.cdist(expected.double(), found.double()).numpy())
    assigned[torch.as_tensor(rows)] = torch.as_tensor(cols)
    return assigned


def read_at(reading: ObjectReading, expected: Float[Tensor, "N 2"]) -> tuple[Tensor, Int[Tensor, " N"]]:
    """Each expected object's read centre (N, 2) and the found object it matched (-1: none). An object
    left unmatched (fewer found than present) is read at the found centre nearest to it, or at infinity."""
    assigned = match(expected, reading.centres)
    centres = torch.full_like(expected, float("inf"))
    for n, k in enumerate(assigned.tolist()):
        if k >= 0:
            centres[n] = reading.centres[k]
        elif reading.count:
            centres[n] = reading.centres[torch.cdist(expected[n : n + 1], reading.centres).argmin()]
    return centres, assigned
