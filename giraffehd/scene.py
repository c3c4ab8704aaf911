"""Scene parameters (every knob of one generated image) and the prior they are sampled from.

A scene is one explicit, typed object, :class:`SceneParameters`: latent codes per object and for the
background, the camera, each object's pose, and which objects are present. :class:`ScenePrior` samples
it from uniform ranges (the config's ``camera`` and ``objects`` groups) and standard normal codes,
with a ``torch.Generator`` (``rng``). Any subset can be fixed by the caller; the rest is sampled, and the random
stream does not depend on which fields are fixed, so a sweep that fixes one knob keeps every other
factor of a seed unchanged.

Units: degrees for angles, scene units for lengths (see :mod:`giraffehd.rendering.camera`).
Axis legend: B scenes, N objects, Z code dimensions.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float
from torch import Tensor


@dataclass(frozen=True)
class SceneParameters:
    """All factors of B scenes with N object slots each."""

    object_shape: Float[Tensor, "B N Z"]
    object_appearance: Float[Tensor, "B N Z"]
    background_shape: Float[Tensor, "B Z"]
    background_appearance: Float[Tensor, "B Z"]
    camera_azimuth_deg: Float[Tensor, " B"]
    camera_elevation_deg: Float[Tensor, " B"]
    camera_radius: Float[Tensor, " B"]
    camera_fov_deg: Float[Tensor, " B"]
    object_rotation_deg: Float[Tensor, "B N"]
    object_translation: Float[Tensor, "B N 3"]
    object_scale: Float[Tensor, "B N 3"]
    object_present: Bool[Tensor, "B N"]

    @property
    def batch_size(self) -> int:
        return self.camera_azimuth_deg.shape[0]

    @property
    def num_objects(self) -> int:
        return self.object_present.shape[1]

    def replace(self, **changes: Tensor | float | bool | Sequence) -> "SceneParameters":
        """A copy with some fields replaced (values are broadcast to the field's shape)."""
        return dataclasses.replace(self, **{k: _broadcast(self, k, v) for k, v in changes.items()})

    def to(self, device: torch.device | str) -> "SceneParameters":
        return SceneParameters(**{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)})

    @staticmethod
    def cat(scenes: "Sequence[SceneParameters]") -> "SceneParameters":
        """Concatenate batches of scenes with the same number of objects."""
        return SceneParameters(
            **{f.name: torch.cat([getattr(s, f.name) for s in scenes]) for f in dataclasses.fields(SceneParameters)}
        )

    def select(self, index: Tensor | slice) -> "SceneParameters":
        """The scenes at ``index`` of the batch axis."""
        return SceneParameters(**{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(SceneParameters))


def _broadcast(scene: SceneParameters, name: str, value: Tensor | float | bool | Sequence) -> Tensor:
    if name not in FIELD_NAMES:
        raise ValueError(f"unknown scene parameter {name!r}; known: {', '.join(FIELD_NAMES)}")
    current = getattr(scene, name)
    tensor = torch.as_tensor(value, dtype=current.dtype, device=current.device)
    try:
        return tensor.expand(current.shape).clone()
    except RuntimeError:
        raise ValueError(
            f"scene parameter {name} must broadcast to shape {tuple(current.shape)}, got {tuple(tensor.shape)}"
        ) from None


@dataclass(frozen=True)
class Range:
    """A closed interval [low, high]; low == high fixes the value."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"range low must not exceed high, got [{self.low}, {self.high}]")

    def sample(self, shape: tuple[int, ...], rng: torch.Generator, device: torch.device | str) -> Tensor:
        u = torch.rand(shape, generator=rng, device=device)
        return self.low + (self.high - self.low) * u


RangeLike = Range | Sequence[float | int]
CAMERA_KEYS = ("azimuth_deg", "elevation_deg", "radius", "fov_deg")
OBJECT_KEYS = ("num_objects", "min_objects", "rotation_deg", "translation", "scale", "joint_scale")


def _range(value: RangeLike, name: str) -> Range:
    if isinstance(value, Range):
        return value
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a [low, high] pair, got {value!r}") from None
    if low > high:
        raise ValueError(f"{name}: low must not exceed high, got [{low}, {high}]")
    return Range(low, high)


@dataclass(frozen=True)
class ScenePrior:
    """Where scenes come from: uniform pose ranges and standard normal codes.

    Defaults follow GIRAFFE HD's CompCars setting, converted to our axes (+y up): one object, camera
    radius 2.732 at a 10 degree field of view, elevation 0-9.6 degrees, fixed azimuth, object rotation
    over 360 degrees. Object scales are half sizes of the object's box along x, y (up) and z, in scene
    units; with ``joint_scale`` one uniform draw places all three axes at the same point of their ranges
    (GIRAFFE's fixed scale ratio). Angles are uniform in degrees (GIRAFFE draws the sine of the
    elevation uniformly; over 0-10 degrees the two differ by under 0.1 degree).
    """

    num_objects: int = 1
    min_objects: int | None = None  # fewest present objects; None = always num_objects
    z_dim: int = 256
    azimuth_deg: RangeLike = Range(0.0, 0.0)
    elevation_deg: RangeLike = Range(0.0, 9.594)
    radius: RangeLike = Range(2.732, 2.732)
    fov_deg: RangeLike = Range(10.0, 10.0)
    rotation_deg: RangeLike = Range(0.0, 360.0)
    translation: Sequence[RangeLike] = (Range(-0.12, 0.12), Range(-0.06, 0.08), Range(-0.22, 0.22))
    scale: Sequence[RangeLike] = (Range(0.16, 0.2), Range(0.16, 0.2), Range(0.2, 0.25))
    joint_scale: bool = True  # one draw for all three axes (same fraction of each range)

    def __post_init__(self) -> None:
        if self.num_objects < 1:
            raise ValueError(f"num_objects must be at least 1, got {self.num_objects}")
        if self.min_objects is not None and not 0 <= self.min_objects <= self.num_objects:
            raise ValueError(f"min_objects must be in [0, num_objects={self.num_objects}], got {self.min_objects}")
        if self.z_dim < 1:
            raise ValueError(f"z_dim must be at least 1, got {self.z_dim}")
        for name in ("azimuth_deg", "elevation_deg", "radius", "fov_deg", "rotation_deg"):
            object.__setattr__(self, name, _range(getattr(self, name), name))
        for name in ("translation", "scale"):
            axes = getattr(self, name)
            if len(axes) != 3:
                raise ValueError(f"{name} needs one [low, high] range per axis (x, y, z), got {axes!r}")
            object.__setattr__(self, name, tuple(_range(r, f"{name}.{a}") for r, a in zip(axes, "xyz", strict=True)))
        if self.radius.low <= 0:
            raise ValueError(f"radius must be positive, got [{self.radius.low}, {self.radius.high}]")
        if not 0 < self.fov_deg.low <= self.fov_deg.high < 180:
            raise ValueError(f"fov_deg must lie in (0, 180), got [{self.fov_deg.low}, {self.fov_deg.high}]")
        if not -90 <= self.elevation_deg.low <= self.elevation_deg.high <= 90:
            raise ValueError(
                f"elevation_deg must lie in [-90, 90], got [{self.elevation_deg.low}, {self.elevation_deg.high}]"
            )
        if any(r.low <= 0 for r in self.scale):
            raise ValueError(f"scale ranges must be positive, got {self.scale}")

    @classmethod
    def from_groups(cls, camera: Mapping, objects: Mapping, z_dim: int = 256) -> "ScenePrior":
        """Build from the ``camera`` and ``objects`` config groups (plain mappings); errors name the key."""
        groups = {"camera": (camera, CAMERA_KEYS), "objects": (objects, OBJECT_KEYS)}
        for group, (values, known) in groups.items():
            unknown = sorted(set(values) - set(known))
            if unknown:
                raise ValueError(f"{group}.{unknown[0]} is not a known key; known: {', '.join(known)}")
        try:
            return cls(z_dim=z_dim, **camera, **objects)
        except ValueError as error:
            field = str(error).split()[0].split(".")[0].rstrip(":")
            group = "camera" if field in CAMERA_KEYS else "objects" if field in OBJECT_KEYS else None
            raise ValueError(f"{group}.{error}" if group else str(error)) from None

    def sample(
        self, batch_size: int, rng: torch.Generator, device: torch.device | str = "cpu", **fixed
    ) -> SceneParameters:
        """Sample B scenes; keyword arguments fix fields (broadcast to their shapes, e.g. a float)."""
        b, n, z = batch_size, self.num_objects, self.z_dim

        def normal(*shape):
            return torch.randn(shape, generator=rng, device=device)

        # Every field is drawn, in a fixed order, whether or not it is fixed below.
        scene = SceneParameters(
            object_shape=normal(b, n, z),
            object_appearance=normal(b, n, z),
            background_shape=normal(b, z),
            background_appearance=normal(b, z),
            camera_azimuth_deg=self.azimuth_deg.sample((b,), rng, device),
            camera_elevation_deg=self.elevation_deg.sample((b,), rng, device),
            camera_radius=self.radius.sample((b,), rng, device),
            camera_fov_deg=self.fov_deg.sample((b,), rng, device),
            object_rotation_deg=self.rotation_deg.sample((b, n), rng, device),
            object_translation=torch.stack([r.sample((b, n), rng, device) for r in self.translation], dim=-1),
            object_scale=self._sample_scale(b, rng, device),
            object_present=self._sample_presence(b, rng, device),
        )
        return scene.replace(**fixed) if fixed else scene

    def _sample_scale(self, batch_size: int, rng: torch.Generator, device) -> Tensor:
        shape = (batch_size, self.num_objects)
        if self.joint_scale:
            u = torch.rand(shape, generator=rng, device=device)[..., None]
            low = torch.tensor([r.low for r in self.scale], device=device)
            high = torch.tensor([r.high for r in self.scale], device=device)
            return low + (high - low) * u
        return torch.stack([r.sample(shape, rng, device) for r in self.scale], dim=-1)

    def _sample_presence(self, batch_size: int, rng: torch.Generator, device) -> Tensor:
        n = self.num_objects
        low = n if self.min_objects is None else self.min_objects
        count = torch.randint(low, n + 1, (batch_size,), generator=rng, device=device)
        # A random subset of `count` slots: rank random keys and keep the lowest ranks.
        keys = torch.rand(batch_size, n, generator=rng, device=device)
        ranks = keys.argsort(dim=1).argsort(dim=1)
        return ranks < count[:, None]
