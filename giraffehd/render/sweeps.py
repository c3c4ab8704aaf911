"""The sweeps of giraffehd-render: which knob each one turns, over which values.

A sweep starts from one sampled scene per row (its seed) and changes one factor along the row; every
other factor stays as the seed drew it. Three kinds:

- ``value``: the knob takes the swept value (camera elevation 0 to 30 degrees). Ranges default to the
  training prior stored with the model; a range that covers whole turns (rotation 0 to 360) leaves out
  its end point, so no column or frame repeats. Videos of other ranges go there and back (a cosine),
  so every video loops.
- ``offset``: turntables; the swept value is added to the seed's own (0 to 360 degrees, end excluded),
  so frame 0 is the sample as drawn and the frame after the last is the first.
- ``discrete``: numbered choices (background k of the seed's stream, the first k objects); a video
  holds each choice for a few frames.

Object sweeps act on one object slot (``object_index``; that object is made present) or, with
``object_index=None``, on every object. Units: degrees and scene units; ``scale`` is a multiple of the
prior's mean box size; ``shape`` and ``appearance`` interpolate linearly from the seed's code (t = 0)
to the code of the seed's next draw (t = 1).

Axis legend: T steps or frames, N objects, Z code dimensions.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.scene import SceneParameters, ScenePrior

# (own scene (B=1), targets (B=1 each), values (T,), object_index) -> T scenes
Apply = Callable[..., SceneParameters]


@dataclass(frozen=True)
class Sweep:
    name: str
    summary: str
    kind: Literal["value", "offset", "discrete"]
    apply: Apply
    default_range: Callable[[ScenePrior], tuple[float, float]] | None = None  # value sweeps only
    bounds: tuple[float, float] = (-math.inf, math.inf)  # where values make sense at all
    periodic: bool = False  # whole turns of the range wrap around (angles)


def _repeat(scene: SceneParameters, count: int) -> SceneParameters:
    return scene.select(torch.zeros(count, dtype=torch.long))


def _slots(object_index: int | None) -> slice:
    return slice(None) if object_index is None else slice(object_index, object_index + 1)


def _objects(
    name: str, own: SceneParameters, object_index: int | None, values: Tensor, change: Callable
) -> SceneParameters:
    """T copies of ``own`` with ``change(field[:, slots], values)`` written into the object field ``name``."""
    scene = _repeat(own, values.shape[0])
    field, slots = getattr(scene, name).clone(), _slots(object_index)
    field[:, slots] = change(field[:, slots], values)
    present = scene.object_present.clone()
    if object_index is not None:  # the swept object is shown even where the seed left its slot empty
        present[:, slots] = True
    return scene.replace(**{name: field, "object_present": present})


def _camera(name: str, offset: bool = False) -> Apply:
    def apply(own, targets, values, object_index):
        base = getattr(own, name)[0] if offset else 0.0
        return _repeat(own, values.shape[0]).replace(**{name: base + values})

    return apply


def _object_value(name: str, axis: int | None = None, offset: bool = False) -> Apply:
    def change(current: Tensor, values: Tensor) -> Tensor:
        if axis is not None:
            current[..., axis] = values[:, None]
            return current
        return current + values[:, None] if offset else values[:, None].expand_as(current)

    return lambda own, targets, values, object_index: _objects(name, own, object_index, values, change)


def _scale(prior: ScenePrior) -> Apply:
    mean = torch.tensor([(r.low + r.high) / 2 for r in prior.scale])

    def apply(own, targets, values, object_index):
        return _objects("object_scale", own, object_index, values, lambda current, v: mean * v[:, None, None])

    return apply


def _code(name: str) -> Apply:
    def apply(own, targets, values, object_index):
        target = getattr(targets[0], name)[:, _slots(object_index)]

        def change(current: Tensor, t: Tensor) -> Tensor:
            return current + t[:, None, None] * (target - current)

        return _objects(name, own, object_index, values, change)

    return apply


def _background(own, targets, values, object_index) -> SceneParameters:
    draws = [own, *targets]
    chosen = [draws[int(k)] for k in values]
    return _repeat(own, values.shape[0]).replace(
        background_shape=torch.cat([d.background_shape for d in chosen]),
        background_appearance=torch.cat([d.background_appearance for d in chosen]),
    )


def _object_count(own, targets, values, object_index) -> SceneParameters:
    slots = torch.arange(own.num_objects)
    return _repeat(own, values.shape[0]).replace(object_present=slots[None, :] < values[:, None])


def _scale_range(prior: ScenePrior) -> tuple[float, float]:
    """Smallest and largest size as multiples of the prior's mean size (the widest axis)."""
    means = [(r.low + r.high) / 2 for r in prior.scale]
    return min(r.low / m for r, m in zip(prior.scale, means, strict=True)), max(
        r.high / m for r, m in zip(prior.scale, means, strict=True)
    )


_POSITIVE = (1e-6, math.inf)


def all_sweeps(prior: ScenePrior) -> dict[str, Sweep]:
    """Every sweep, by name, for models trained under ``prior``."""
    sweeps = [
        Sweep("elevation", "camera elevation, degrees", "value", _camera("camera_elevation_deg"),
              lambda p: (p.elevation_deg.low, p.elevation_deg.high), bounds=(-90.0, 90.0)),
        Sweep("azimuth", "camera azimuth, degrees", "value", _camera("camera_azimuth_deg"),
              lambda p: (p.azimuth_deg.low, p.azimuth_deg.high), periodic=True),
        Sweep("radius", "camera distance (zoom), scene units", "value", _camera("camera_radius"),
              lambda p: (p.radius.low, p.radius.high), bounds=_POSITIVE),
        Sweep("rotation", "object rotation about up, degrees", "value", _object_value("object_rotation_deg"),
              lambda p: (p.rotation_deg.low, p.rotation_deg.high), periodic=True),
        Sweep("translation_x", "object translation left-right (x), scene units", "value",
              _object_value("object_translation", axis=0), lambda p: (p.translation[0].low, p.translation[0].high)),
        Sweep("translation_y", "object translation up-down (y), scene units", "value",
              _object_value("object_translation", axis=1), lambda p: (p.translation[1].low, p.translation[1].high)),
        Sweep("translation_z", "object translation in depth (z), scene units", "value",
              _object_value("object_translation", axis=2), lambda p: (p.translation[2].low, p.translation[2].high)),
        Sweep("scale", "object size, multiple of the prior's mean size", "value", _scale(prior), _scale_range,
              bounds=_POSITIVE),
        Sweep("shape", "object shape code, interpolation t", "value", _code("object_shape"), lambda p: (0.0, 1.0)),
        Sweep("appearance", "object appearance code, interpolation t", "value", _code("object_appearance"),
              lambda p: (0.0, 1.0)),
        Sweep("background", "background shape and appearance codes, swapped", "discrete", _background),
        Sweep("objects", "objects added one by one", "discrete", _object_count),
        Sweep("turntable", "object rotation, a full turn from the sample's own", "offset",
              _object_value("object_rotation_deg", offset=True)),
        Sweep("orbit", "camera azimuth, a full orbit from the sample's own", "offset",
              _camera("camera_azimuth_deg", offset=True)),
    ]  # fmt: skip
    return {sweep.name: sweep for sweep in sweeps}


SWEEP_NAMES = tuple(all_sweeps(ScenePrior()))


@dataclass(frozen=True)
class SweepPlan:
    """One sweep with its values: the grid's columns and the video's frames."""

    sweep: Sweep
    range: tuple[float, float] | None  # value sweeps: [low, high] in the sweep's units
    grid_values: Float[Tensor, " T"]
    video_values: Float[Tensor, " F"]
    num_targets: int  # extra draws per seed that the sweep reads (interpolation and swap targets)
    note: str | None = None  # e.g. that the range goes beyond the training prior

    @property
    def name(self) -> str:
        return self.sweep.name


def _turns(low: float, high: float, count: int) -> Tensor:
    """``count`` values from low towards high, end excluded (a loop over whole turns)."""
    return low + (high - low) * torch.arange(count, dtype=torch.float64) / count


def _there_and_back(low: float, high: float, count: int) -> Tensor:
    """``count`` values from low to high and back along a cosine; the frame after the last is the first."""
    phase = torch.arange(count, dtype=torch.float64) * (2 * math.pi / count)
    return low + (high - low) * (1 - torch.cos(phase)) / 2


def _hold(choices: int, frames: int) -> Tensor:
    return torch.arange(choices, dtype=torch.float64).repeat_interleave(max(1, frames // choices))


def _format(value: float) -> str:
    return f"{value:g}"


def plan_sweep(
    sweep: Sweep,
    prior: ScenePrior,
    requested: Sequence[float | int] | None,
    steps: int,
    frames: int,
    extrapolate: float | int = 0.0,
) -> SweepPlan:
    """Values of one sweep; ``requested`` is the user's [low, high] or None for the (widened) prior.

    Raises a one-line ValueError naming ``sweep.<name>`` for a range that is malformed, empty,
    inverted or out of bounds, or when the prior fixes the knob and no range is given.
    """
    key = f"sweep.{sweep.name}"
    if sweep.kind != "value":
        if requested is not None:
            raise ValueError(f"{key} takes no range (it is a {sweep.kind} sweep), got {list(requested)}")
        if sweep.kind == "offset":
            grid, video = _turns(0.0, 360.0, steps), _turns(0.0, 360.0, frames)
            return SweepPlan(sweep, (0.0, 360.0), grid.float(), video.float(), 0)
        choices = prior.num_objects + 1 if sweep.name == "objects" else steps
        grid = torch.arange(choices, dtype=torch.float64)
        targets = choices - 1 if sweep.name == "background" else 0
        return SweepPlan(sweep, None, grid.float(), _hold(choices, frames).float(), targets)
    low, high = sweep.default_range(prior)
    note = None
    if requested is None:
        if low == high:
            raise ValueError(
                f"{key}: the training prior fixes {sweep.summary.split(',')[0]} at {_format(low)}; "
                f"give a range, e.g. {key}=[low,high]"
            )
        full_turns = sweep.periodic and (high - low) % 360 == 0
        if extrapolate and not full_turns:
            width = (high - low) * float(extrapolate)
            low, high = max(low - width, sweep.bounds[0]), min(high + width, sweep.bounds[1])
            note = f"{key}: [{_format(low)}, {_format(high)}] extrapolates beyond the training prior"
    else:
        prior_low, prior_high = low, high
        try:
            low, high = (float(v) for v in requested)
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a [low, high] pair of numbers, got {requested!r}") from None
        if not low < high:
            what = "empty" if low == high else "inverted"
            raise ValueError(f"{key} is an {what} range [{_format(low)}, {_format(high)}]: low must be below high")
        if not sweep.bounds[0] <= low <= high <= sweep.bounds[1]:
            bounds = "positive" if sweep.bounds == _POSITIVE else f"within [{sweep.bounds[0]:g}, {sweep.bounds[1]:g}]"
            raise ValueError(f"{key} must be {bounds}, got [{_format(low)}, {_format(high)}]")
        if low < prior_low or high > prior_high:
            note = (
                f"{key}: [{_format(low)}, {_format(high)}] extrapolates beyond the training prior "
                f"[{_format(prior_low)}, {_format(prior_high)}]"
            )
    if sweep.periodic and (high - low) % 360 == 0:
        grid, video = _turns(low, high, steps), _turns(low, high, frames)
    else:
        grid, video = torch.linspace(low, high, steps, dtype=torch.float64), _there_and_back(low, high, frames)
    targets = 1 if sweep.name in ("shape", "appearance") else 0
    return SweepPlan(sweep, (low, high), grid.float(), video.float(), targets, note)


def plan_sweeps(
    names: Sequence[str] | str,
    ranges: Mapping[str, Sequence[float | int] | None],
    prior: ScenePrior,
    steps: int,
    frames: int,
    extrapolate: float | int = 0.0,
) -> tuple[list[SweepPlan], list[str]]:
    """Plans for ``names`` (or ``"auto"``) and notes to show; one-line ValueErrors name the bad value.

    ``auto``: every value sweep with a range to sweep (given, or not fixed by the prior), the code
    interpolations, the background swap, adding objects when the model has several, and both turntables.
    """
    sweeps = all_sweeps(prior)
    unknown_ranges = sorted(set(ranges) - set(sweeps))
    if unknown_ranges:
        raise ValueError(f"sweep.{unknown_ranges[0]} is not a sweep; known: {', '.join(sweeps)}")
    notes: list[str] = []
    if isinstance(names, str):
        if names != "auto":
            names = [names]
        else:
            names = []
            for name, sweep in sweeps.items():
                if name == "objects" and prior.num_objects == 1:
                    continue
                if sweep.kind == "value" and ranges.get(name) is None:
                    low, high = sweep.default_range(prior)
                    if low == high:
                        notes.append(f"skipping {name}: the training prior fixes it (give sweep.{name}=[low,high])")
                        continue
                names.append(name)
    if not names:
        raise ValueError("sweeps is empty: name at least one sweep, or use sweeps=auto")
    for name in names:
        if name not in sweeps:
            raise ValueError(f"unknown sweep {name!r} in sweeps; known: {', '.join(sweeps)}, or auto")
    if len(set(names)) != len(names):
        raise ValueError(f"sweeps names a sweep twice: {list(names)}")
    plans = [plan_sweep(sweeps[name], prior, ranges.get(name), steps, frames, extrapolate) for name in names]
    return plans, notes + [plan.note for plan in plans if plan.note]


def sweep_scenes(
    plan: SweepPlan, draws: Sequence[SceneParameters], values: Float[Tensor, " T"], object_index: int | None
) -> SceneParameters:
    """The scenes of one row: the seed's own scene ``draws[0]`` with the sweep applied at each value."""
    return plan.sweep.apply(draws[0], draws[1:], values, object_index)
