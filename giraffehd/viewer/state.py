"""What the viewer shows: every knob's value as one plain, immutable record, and the scene it renders.

A :class:`ViewState` holds numbers a person turns (degrees, scene units, seeds), never tensors, so the
page, the render worker and the exported files agree on one value. :func:`scene_of` turns it into the
generator's :class:`~giraffehd.scene.SceneParameters` (a batch of one), deterministically: the same
state gives the same scene, bit for bit.

Latent codes are named by seeds: ``code(seed)`` is the standard normal vector drawn from
``torch.Generator().manual_seed(seed)``. A :class:`Code` blends two seeds' vectors, ``(1 - t) * code(seed)
+ t * code(other)``, the viewer's interpolation slider. Scale is a multiple of the prior's mean box size
(as in giraffehd.knobs), angles are degrees, lengths scene units.
"""

import dataclasses
from dataclasses import dataclass

import torch

from giraffehd.knobs import mean_box_size
from giraffehd.scene import SceneParameters, ScenePrior

SHOW = ("image", "foreground", "background", "mask", "depth")
# Seeds of the first scene's codes: object k's shape is seed + k, its appearance seed + APPEARANCE + k, so
# that no two codes of one scene share a seed (equal seeds would give equal vectors).
APPEARANCE = 1000
BACKGROUND_SHAPE = 2000
BACKGROUND_APPEARANCE = 3000


@dataclass(frozen=True)
class Code:
    """A latent code: seed ``seed``'s vector, blended towards seed ``other``'s by ``t`` in [0, 1]."""

    seed: int
    other: int
    t: float = 0.0


@dataclass(frozen=True)
class ObjectState:
    present: bool
    rotation_deg: float
    translation: tuple[float, float, float]  # scene units
    scale: float  # multiple of the prior's mean box size
    shape: Code
    appearance: Code


@dataclass(frozen=True)
class ViewState:
    azimuth_deg: float
    elevation_deg: float
    radius: float
    fov_deg: float
    objects: tuple[ObjectState, ...]
    background_shape: Code
    background_appearance: Code
    truncation_psi: float = 1.0
    show: str = "image"

    def replace(self, **changes) -> "ViewState":
        return dataclasses.replace(self, **changes)

    def replace_object(self, index: int, **changes) -> "ViewState":
        objects = list(self.objects)
        objects[index] = dataclasses.replace(objects[index], **changes)
        return self.replace(objects=tuple(objects))


def code(seed: int, z_dim: int) -> torch.Tensor:
    """The standard normal vector of ``seed`` (z_dim,)."""
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def blend(c: Code, z_dim: int) -> torch.Tensor:
    if c.t == 0:
        return code(c.seed, z_dim)
    return torch.lerp(code(c.seed, z_dim), code(c.other, z_dim), float(c.t))


def initial_state(prior: ScenePrior, seed: int, truncation_psi: float = 1.0) -> ViewState:
    """Seed ``seed``'s first scene: the camera and object poses drawn from ``prior`` with that seed (every slot
    present), codes named by seeds derived from it."""
    scene = prior.sample(1, torch.Generator().manual_seed(seed))
    mean = mean_box_size(prior)
    objects = tuple(
        ObjectState(
            present=True,
            rotation_deg=float(scene.object_rotation_deg[0, k]),
            translation=tuple(float(v) for v in scene.object_translation[0, k]),
            scale=float((scene.object_scale[0, k] / torch.tensor(mean)).mean()),
            shape=Code(seed + k, seed + k + 1),
            appearance=Code(seed + APPEARANCE + k, seed + APPEARANCE + k + 1),
        )
        for k in range(prior.num_objects)
    )
    return ViewState(
        azimuth_deg=float(scene.camera_azimuth_deg[0]),
        elevation_deg=float(scene.camera_elevation_deg[0]),
        radius=float(scene.camera_radius[0]),
        fov_deg=float(scene.camera_fov_deg[0]),
        objects=objects,
        background_shape=Code(seed + BACKGROUND_SHAPE, seed + BACKGROUND_SHAPE + 1),
        background_appearance=Code(seed + BACKGROUND_APPEARANCE, seed + BACKGROUND_APPEARANCE + 1),
        truncation_psi=float(truncation_psi),
    )


def scene_of(state: ViewState, prior: ScenePrior) -> SceneParameters:
    """The generator's scene (a batch of one) for ``state``; ``prior`` gives z_dim and the mean box size."""
    if len(state.objects) != prior.num_objects:
        raise ValueError(f"the view has {len(state.objects)} objects, the model {prior.num_objects} slots")
    z = prior.z_dim
    mean = torch.tensor(mean_box_size(prior))

    def one(values) -> torch.Tensor:
        return torch.tensor([values], dtype=torch.float32)

    return SceneParameters(
        object_shape=torch.stack([blend(o.shape, z) for o in state.objects])[None],
        object_appearance=torch.stack([blend(o.appearance, z) for o in state.objects])[None],
        background_shape=blend(state.background_shape, z)[None],
        background_appearance=blend(state.background_appearance, z)[None],
        camera_azimuth_deg=one(state.azimuth_deg),
        camera_elevation_deg=one(state.elevation_deg),
        camera_radius=one(state.radius),
        camera_fov_deg=one(state.fov_deg),
        object_rotation_deg=one([o.rotation_deg for o in state.objects]),
        object_translation=one([list(o.translation) for o in state.objects]),
        object_scale=torch.stack([o.scale * mean for o in state.objects]).float()[None],
        object_present=torch.tensor([[o.present for o in state.objects]]),
    )
