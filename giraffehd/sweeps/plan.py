"""The sweeps of giraffehd-render: which knob each one turns, over which values.

A sweep starts from one sampled scene per row (its seed) and changes one factor along the row; every
other factor stays as the seed drew it. Three kinds:

- ``value``: a knob of :mod:`giraffehd.knobs` takes the swept value (camera elevation 0 to 30 degrees),
  or an object code is interpolated. Ranges default to the training prior stored with the model; a range
  that covers whole turns (rotation 0 to 360) leaves out its end point, so no column or frame repeats.
  Videos of other ranges go there and back (a cosine), so every video loops.
- ``offset``: turntables; the swept value is added to the knob's own value in the seed (0 to 360
  degrees, end excluded), so frame 0 is the sample as drawn and the frame after the last is the first.
- ``discrete``: numbered choices (background k of the seed's stream; one object's appearance code k of
  the seed's stream, a recolouring; the first k objects; every object but object k); a video holds each
  choice for a few frames.

Object sweeps act on one object slot (``object_index``; that object is made present) or, with
``object_index=None``, on every object. Units: those of the knobs (degrees and scene units; ``scale``
is a multiple of the prior's mean box size); ``shape`` and ``appearance`` interpolate linearly from the
seed's code (t = 0) to the code of the seed's next draw (t = 1).

Axis legend: T steps or frames, N objects, Z code dimensions.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.knobs import POSITIVE, Knob, all_knobs
from giraffehd.scene import SceneParameters, ScenePrior

# The knobs with a value sweep (fov has none: conf/render.yaml has no range for it).
VALUE_KNOBS = ("elevation", "azimuth", "radius", "rotation", "translation_x", "translation_y", "translation_z", "scale")
Change = Literal[
    "write", "offset", "interpolate", "swap_background", "swap_appearance", "add_objects", "remove_objects"
]


@dataclass(frozen=True)
class Sweep:
    """One sweep: a knob set to each value (``write``) or turned by it (``offset``), or a change of its own."""

    name: str
    summary: str  # "what, units"
    change: Change
    knob: Knob | None = None  # write and offset: the knob turned
    code: str | None = None  # interpolate: the code field (object_shape or object_appearance)

    @property
    def kind(self) -> Literal["value", "offset", "discrete"]:
        return {"write": "value", "interpolate": "value", "offset": "offset"}.get(self.change, "discrete")

    @property
    def default_range(self) -> tuple[float, float]:
        """Value sweeps: the training prior's range of the knob; codes go from the seed's (0) to the next (1)."""
        return self.knob.default_range if self.knob is not None else (0.0, 1.0)

    @property
    def bounds(self) -> tuple[float, float]:
        return self.knob.bounds if self.knob is not None else (-math.inf, math.inf)

    @property
    def periodic(self) -> bool:
        return self.knob is not None and self.knob.periodic


def all_sweeps(prior: ScenePrior) -> dict[str, Sweep]:
    """Every sweep, by name, for models trained under ``prior``."""
    knobs = all_knobs(prior)
    sweeps = [Sweep(name, knobs[name].summary, "write", knobs[name]) for name in VALUE_KNOBS]
    sweeps += [
        Sweep("shape", "object shape code, interpolation t", "interpolate", code="object_shape"),
        Sweep("appearance", "object appearance code, interpolation t", "interpolate", code="object_appearance"),
        Sweep("background", "background shape and appearance codes, swapped", "swap_background"),
        Sweep("recolour", "object appearance code, swapped", "swap_appearance", code="object_appearance"),
        Sweep("objects", "objects added one by one", "add_objects"),
        Sweep("remove", "every object shown, then each one removed in turn", "remove_objects"),
        Sweep("turntable", "object rotation, a full turn from the sample's own", "offset", knobs["rotation"]),
        Sweep("orbit", "camera azimuth, a full orbit from the sample's own", "offset", knobs["azimuth"]),
    ]
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
        per_object = sweep.change in ("add_objects", "remove_objects")
        choices = prior.num_objects + 1 if per_object else steps
        grid = torch.arange(choices, dtype=torch.float64)
        targets = choices - 1 if sweep.change in ("swap_background", "swap_appearance") else 0
        return SweepPlan(sweep, None, grid.float(), _hold(choices, frames).float(), targets)
    low, high = sweep.default_range
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
            bounds = "positive" if sweep.bounds == POSITIVE else f"within [{sweep.bounds[0]:g}, {sweep.bounds[1]:g}]"
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
    targets = 1 if sweep.change == "interpolate" else 0
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
                if sweep.change in ("add_objects", "remove_objects") and prior.num_objects == 1:
                    continue
                if sweep.kind == "value" and ranges.get(name) is None:
                    low, high = sweep.default_range
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
    sweep = plan.sweep
    scenes = draws[0].select(torch.zeros(values.shape[0], dtype=torch.long))  # T copies of the seed's scene
    if sweep.change == "write":
        return sweep.knob.write(scenes, values, object_index)
    if sweep.change == "offset":
        return sweep.knob.offset(scenes, values, object_index)
    if sweep.change == "interpolate":
        return _interpolate(scenes, sweep.code, draws[1], values, object_index)
    if sweep.change == "swap_background":
        chosen = [draws[int(k)] for k in values]
        return scenes.replace(
            background_shape=torch.cat([d.background_shape for d in chosen]),
            background_appearance=torch.cat([d.background_appearance for d in chosen]),
        )
    if sweep.change == "swap_appearance":
        return _swap_appearance(scenes, draws, values, object_index)
    slots = torch.arange(scenes.num_objects)
    if sweep.change == "remove_objects":  # value 0 shows every slot, value k every slot but slot k - 1
        return scenes.replace(object_present=slots[None, :] != values[:, None] - 1)
    return scenes.replace(object_present=slots[None, :] < values[:, None])  # add_objects: the first k slots


def _swap_appearance(
    scenes: SceneParameters, draws: Sequence[SceneParameters], values: Float[Tensor, " T"], object_index: int | None
) -> SceneParameters:
    """``scenes`` where value k gives the chosen slot (every slot for None) draw k's appearance code."""
    slots = slice(None) if object_index is None else slice(object_index, object_index + 1)
    field = scenes.object_appearance.clone()
    for row, k in enumerate(values.tolist()):
        field[row, slots] = draws[int(k)].object_appearance[0, slots]
    present = scenes.object_present.clone()
    if object_index is not None:  # the recoloured object is shown even where the seed left its slot empty
        present[:, object_index] = True
    return scenes.replace(object_appearance=field, object_present=present)


def _interpolate(
    scenes: SceneParameters, code: str, target: SceneParameters, t: Float[Tensor, " T"], object_index: int | None
) -> SceneParameters:
    """``scenes`` with the object code field ``code`` moved a fraction ``t`` towards ``target``'s (B=1)."""
    slots = slice(None) if object_index is None else slice(object_index, object_index + 1)
    field = getattr(scenes, code).clone()
    field[:, slots] += t[:, None, None] * (getattr(target, code)[:, slots] - field[:, slots])
    present = scenes.object_present.clone()
    if object_index is not None:  # the swept object is shown even where the seed left its slot empty
        present[:, object_index] = True
    return scenes.replace(**{code: field, "object_present": present})
