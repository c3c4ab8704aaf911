"""The knobs of a scene: one registry that rendering, evaluation and any later tool turn them through.

A knob is one number per scene that a person would turn: a camera setting or one object's pose. Each
:class:`Knob` knows the :class:`~giraffehd.scene.SceneParameters` field it lives in (and the component,
for a vector field), its units, its default range under a :class:`~giraffehd.scene.ScenePrior`, where
values make sense at all, and whether it wraps around (angles, period 360). It reads and writes that
field and nothing else, as pure functions returning new scenes:

    knob = all_knobs(prior)["rotation"]
    knob.read(scene, object_index=0)                       # (B,) degrees
    knob.write(scene, torch.tensor([0.0, 90.0]), 0)        # object 0 turned to 0 and 90 degrees
    knob.offset(scene, 30.0, object_index=None)            # every object turned 30 degrees further

Object knobs act on one object slot (``object_index``; that object is made present, so the knob shows
even where the scene left the slot empty) or, with ``object_index=None``, on every slot (presence
unchanged). Camera knobs ignore ``object_index``.

Units: degrees for angles, scene units for lengths; ``scale`` is a multiple of the prior's mean box
size (per axis, so 1 is the mean box and 2 twice it). Conventions: :mod:`giraffehd.rendering.camera`
(+y up; azimuth 0 puts the camera on +z).
Axis legend: B scenes, N objects; vector components x (0, left-right), y (1, up), z (2, depth).
"""

import math
from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.scene import Range, SceneParameters, ScenePrior

POSITIVE = (1e-6, math.inf)  # bounds of lengths and sizes
Values = Float[Tensor, " B"] | Float[Tensor, ""] | float | int


@dataclass(frozen=True)
class Knob:
    """One knob: where it lives in a scene, its units and ranges, and how to read and turn it."""

    name: str
    summary: str  # "what, units": the part before the comma names the knob in messages
    kind: Literal["camera", "object"]
    field: str  # the SceneParameters field
    axis: int | None  # the component of a vector field; None: the whole field (scale: all three axes)
    default_range: tuple[float, float]  # (low, high) under the prior the registry was built for
    bounds: tuple[float, float] = (-math.inf, math.inf)  # where values make sense at all
    periodic: bool = False  # an angle: values 360 apart are the same
    unit: tuple[float, float, float] | None = None  # field value per knob unit along x, y, z (scale only)

    @property
    def in_degrees(self) -> bool:
        """Angles: their scene field is in degrees (the scene names those fields ``*_deg``)."""
        return self.field.endswith("_deg")

    def read(self, scene: SceneParameters, object_index: int = 0) -> Float[Tensor, " B"]:
        """The knob's value in each scene (of object ``object_index`` for an object knob)."""
        value = getattr(scene, self.field)
        if self.kind == "object":
            _check_slot(scene, object_index)
            value = value[:, object_index]
        if self.axis is not None:
            value = value[..., self.axis]
        if self.unit is not None:  # one number for three axes: their mean multiple
            value = (value / value.new_tensor(self.unit)).mean(dim=-1)
        return value

    def write(self, scene: SceneParameters, values: Values, object_index: int | None = 0) -> SceneParameters:
        """``scene`` with the knob set to ``values`` (one per scene, or one for all)."""
        return self._turn(scene, values, object_index, add=False)

    def offset(self, scene: SceneParameters, values: Values, object_index: int | None = 0) -> SceneParameters:
        """``scene`` with ``values`` added to the knob's own value in each scene (turntables, orbits)."""
        return self._turn(scene, values, object_index, add=True)

    def _turn(self, scene: SceneParameters, values: Values, object_index: int | None, add: bool) -> SceneParameters:
        field = getattr(scene, self.field).clone()
        values = torch.as_tensor(values, dtype=field.dtype, device=field.device)
        try:
            values = values.broadcast_to((scene.batch_size,))
        except RuntimeError:
            raise ValueError(
                f"{self.name}: values must be one number or one per scene ({scene.batch_size}), "
                f"got shape {tuple(values.shape)}"
            ) from None
        if self.kind == "camera":
            return scene.replace(**{self.field: field + values if add else values})
        slots = slice(None) if object_index is None else slice(_check_slot(scene, object_index), object_index + 1)
        index = (slice(None), slots) if self.axis is None else (slice(None), slots, self.axis)
        amount = values[:, None]  # B 1: the same for every chosen slot
        if self.unit is not None:
            amount = amount[..., None] * field.new_tensor(self.unit)  # B 1 3
        field[index] = field[index] + amount if add else amount.expand_as(field[index])
        present = scene.object_present.clone()
        if object_index is not None:
            present[:, object_index] = True
        return scene.replace(**{self.field: field, "object_present": present})


def _check_slot(scene: SceneParameters, object_index: int) -> int:
    if not 0 <= object_index < scene.num_objects:
        raise ValueError(f"object_index must be in [0, {scene.num_objects - 1}], got {object_index}")
    return object_index


def mean_box_size(prior: ScenePrior) -> tuple[float, float, float]:
    """The middle of the prior's scale range along x, y and z: what ``scale`` = 1 means."""
    x, y, z = (float(r.low + r.high) / 2 for r in prior.scale)
    return (x, y, z)


def _scale_range(prior: ScenePrior) -> tuple[float, float]:
    """Smallest and largest size as multiples of the mean size (over the three axes)."""
    mean = mean_box_size(prior)
    pairs = list(zip(prior.scale, mean, strict=True))
    return float(min(r.low / m for r, m in pairs)), float(max(r.high / m for r, m in pairs))


def all_knobs(prior: ScenePrior) -> dict[str, Knob]:
    """Every knob, by name, with default ranges (and the scale unit) from ``prior``."""

    def span(r: Range) -> tuple[float, float]:
        return (float(r.low), float(r.high))

    t = prior.translation
    knobs = [
        Knob("azimuth", "camera azimuth, degrees", "camera", "camera_azimuth_deg", None, span(prior.azimuth_deg),
             periodic=True),
        Knob("elevation", "camera elevation, degrees", "camera", "camera_elevation_deg", None,
             span(prior.elevation_deg), bounds=(-90.0, 90.0)),
        Knob("radius", "camera distance (zoom), scene units", "camera", "camera_radius", None, span(prior.radius),
             bounds=POSITIVE),
        Knob("fov", "camera field of view, degrees", "camera", "camera_fov_deg", None, span(prior.fov_deg),
             bounds=(0.1, 179.9)),
        Knob("rotation", "object rotation about up, degrees", "object", "object_rotation_deg", None,
             span(prior.rotation_deg), periodic=True),
        Knob("translation_x", "object translation left-right (x), scene units", "object", "object_translation", 0,
             span(t[0])),
        Knob("translation_y", "object translation up-down (y), scene units", "object", "object_translation", 1,
             span(t[1])),
        Knob("translation_z", "object translation in depth (z), scene units", "object", "object_translation", 2,
             span(t[2])),
        Knob("scale", "object size, multiple of the prior's mean size", "object", "object_scale", None,
             _scale_range(prior), bounds=POSITIVE, unit=mean_box_size(prior)),
    ]  # fmt: skip
    return {knob.name: knob for knob in knobs}


KNOB_NAMES = tuple(all_knobs(ScenePrior()))
_KINDS = {name: knob.kind for name, knob in all_knobs(ScenePrior()).items()}


def qualified_name(name: str) -> str:
    """A knob's name with its kind, as the car scorecard keys and labels its rows: "rotation" ->
    "object_rotation", "elevation" -> "camera_elevation"."""
    if name not in _KINDS:
        raise ValueError(f"unknown knob {name!r}; known: {', '.join(KNOB_NAMES)}")
    return f"{_KINDS[name]}_{name}"
