"""The viewer's knob sliders, declared once: one entry per knob of :mod:`giraffehd.knobs`.

Each :class:`KnobControl` says where its slider goes (the Camera folder, or the Pose folder of the chosen
object), its label and step, its range under a model's prior, and how it reads and writes a
:class:`~giraffehd.viewer.state.ViewState`. The panel builds a slider per entry, the viewer wires and syncs
them in one loop each, and a test checks that every knob of the registry has its entry.

Ranges: an angle on a circle spans one turn (-180 to 180, the value wrapped into it); the elevation stops
short of the poles; the other knobs span the prior's range widened on both sides, so that a user can go
past what the model was trained on.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from giraffehd.knobs import Knob, all_knobs
from giraffehd.scene import ScenePrior
from giraffehd.viewer.orbit import MAX_ELEVATION_DEG, wrap_degrees
from giraffehd.viewer.state import ViewState


@dataclass(frozen=True)
class KnobControl:
    knob: str  # its name in giraffehd.knobs
    label: str  # the slider's label on the page
    step: float
    folder: Literal["camera", "pose"]  # the Camera folder, or the chosen object's Pose folder
    span: Callable[[Knob], tuple[float, float]]  # the slider's (low, high) from the knob under the prior
    read: Callable[[ViewState, int], float]  # the value shown for the view (and object slot)
    write: Callable[[ViewState, int, float], ViewState]  # the view with the slider's value

    @property
    def moves_camera(self) -> bool:
        """Azimuth, elevation and radius are the browser camera's orbit too: the page's camera follows."""
        return self.knob in ("azimuth", "elevation", "radius")

    def shown(self, state: ViewState, slot: int) -> float:
        """The slider's value for ``state``: angles on a circle wrapped, the elevation kept off the poles."""
        value = self.read(state, slot)
        if self.knob in ("azimuth", "rotation"):
            return wrap_degrees(value)
        if self.knob == "elevation":
            return max(-MAX_ELEVATION_DEG, min(MAX_ELEVATION_DEG, value))
        return value


def _one_turn(_knob: Knob) -> tuple[float, float]:
    return (-180.0, 180.0)


def _widened(margin: float) -> Callable[[Knob], tuple[float, float]]:
    """The prior's range widened by half its width (at least ``margin``) on each side."""

    def span(knob: Knob) -> tuple[float, float]:
        low, high = knob.default_range
        width = max(high - low, margin)
        return (low - width / 2, high + width / 2)

    return span


def _camera(field: str) -> tuple[Callable, Callable]:
    def read(state: ViewState, _slot: int) -> float:
        return getattr(state, field)

    def write(state: ViewState, _slot: int, value: float) -> ViewState:
        return state.replace(**{field: value})

    return read, write


def _object(field: str, axis: int | None = None) -> tuple[Callable, Callable]:
    def read(state: ViewState, slot: int) -> float:
        value = getattr(state.objects[slot], field)
        return value if axis is None else value[axis]

    def write(state: ViewState, slot: int, value: float) -> ViewState:
        if axis is None:
            return state.replace_object(slot, **{field: value})
        vector = list(getattr(state.objects[slot], field))
        vector[axis] = value
        return state.replace_object(slot, **{field: tuple(vector)})

    return read, write


KNOB_CONTROLS: tuple[KnobControl, ...] = (
    KnobControl("azimuth", "Azimuth (deg)", 0.5, "camera", _one_turn, *_camera("azimuth_deg")),
    KnobControl(
        "elevation",
        "Elevation (deg)",
        0.1,
        "camera",
        lambda _knob: (-MAX_ELEVATION_DEG, MAX_ELEVATION_DEG),
        *_camera("elevation_deg"),
    ),
    KnobControl(
        "radius",
        "Radius",
        0.01,
        "camera",
        lambda knob: (0.5 * knob.default_range[0], 2.0 * knob.default_range[1]),
        *_camera("radius"),
    ),
    KnobControl(
        "fov",
        "Field of view (deg)",
        0.1,
        "camera",
        lambda knob: (max(1.0, knob.default_range[0] / 2), min(120.0, knob.default_range[1] * 2)),
        *_camera("fov_deg"),
    ),
    KnobControl("rotation", "Rotation (deg)", 0.5, "pose", _one_turn, *_object("rotation_deg")),
    *(
        KnobControl(f"translation_{n}", f"Translation {n}", 0.005, "pose", _widened(0.5), *_object("translation", i))
        for i, n in enumerate("xyz")
    ),
    KnobControl(
        "scale",
        "Scale (x mean size)",
        0.01,
        "pose",
        lambda knob: (0.25 * knob.default_range[0], 2.0 * knob.default_range[1]),
        *_object("scale"),
    ),
)


def slider_spans(prior: ScenePrior) -> dict[str, tuple[float, float]]:
    """Every control's slider range under ``prior``, by knob name."""
    knobs = all_knobs(prior)
    return {control.knob: control.span(knobs[control.knob]) for control in KNOB_CONTROLS}
