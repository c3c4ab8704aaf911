"""Scene files: the exchange format between giraffehd-view's export, giraffehd-invert's ``scene.json``,
``giraffehd-render scene=`` and ``giraffehd-export-mesh scene=``.

A file holds either a record ``{"scene": {...} or [{...}, ...], "truncation_psi": ..., "batch_size": ...}``
(the render settings are optional; with them the frame re-renders bit for bit) or the bare scene mapping
or list of mappings (:mod:`giraffehd.scene_json` writes them).

A scene file is input like any other, so :func:`read_scene_file` checks all of it against the model that
will render it before anything is rendered, and refuses a bad one in one line naming the file, the field
and the value:

- a file that is missing, not a regular file (a named pipe would block the reader: giraffehd/inputs.py),
  or not JSON;
- a field missing or unknown, a value of the wrong type (text for a number, a number for a flag), a list
  of the wrong length (a code of another size than the model's, another number of object slots);
- a value that is not finite, or one no camera or object can have: a radius or scale of 0 or less, a
  field of view outside (0, 180) degrees, an elevation beyond +-89 degrees (the camera's limit).

A value the model can render but never saw in training (outside the prior's range widened by
:data:`MARGIN` of its width on each side, or a code entry beyond :data:`MAX_CODE` standard deviations) is
rendered, and :attr:`SceneFile.notes` says so in one line per field; rotation and azimuth are angles on a
circle and are never out of range.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from giraffehd.inputs import check_input_file
from giraffehd.rendering.camera import MAX_ELEVATION_DEG
from giraffehd.scene import FIELD_NAMES, Range, SceneParameters, ScenePrior
from giraffehd.scene_json import scene_from_json

MARGIN = 0.5  # of a prior range's width, on each side, before a value counts as unseen
MIN_MARGIN = 0.05  # of the range's largest magnitude, so that a fixed value (low == high) has some margin
MAX_CODE = 5.0  # standard deviations: a standard normal draw exceeds this once in about 3.5 million


class SceneFileError(ValueError):
    """A scene file that cannot be rendered by the model; the message is one line naming the file."""


@dataclass(frozen=True)
class SceneFile:
    scene: SceneParameters  # B scenes
    truncation_psi: float | None  # the settings the file was rendered with, when it says
    batch_size: int | None
    notes: tuple[str, ...]  # one line per field with a value the model never saw in training


def read_scene_file(path: str | Path, prior: ScenePrior) -> SceneFile:
    """The scenes of ``path``, checked against the model whose prior is ``prior`` (its object slots, code
    size and training ranges); every error is one :class:`SceneFileError` line naming the file."""
    path = Path(path)
    data = _read_json(path)
    settings = data if isinstance(data, Mapping) and "scene" in data else {}
    records = settings.get("scene", data)
    if isinstance(records, Mapping):
        records = [records]
    if not isinstance(records, list) or not records:
        raise SceneFileError(f"scene file {path} holds {_kind(records)}, not a scene or a list of scenes")
    notes: list[str] = []
    for index, record in enumerate(records):
        where = f"scene file {path}" + (f", scene {index}" if len(records) > 1 else "")
        notes += _check_record(record, prior, where)
    psi, batch = settings.get("truncation_psi"), settings.get("batch_size")
    if psi is not None and not (_is_number(psi) and 0 <= psi <= 1):
        raise SceneFileError(f"scene file {path}: truncation_psi must be a number in [0, 1], got {psi!r}")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise SceneFileError(f"scene file {path}: batch_size must be a positive integer, got {batch!r}")
    scene = scene_from_json(records)
    return SceneFile(scene, None if psi is None else float(psi), batch, tuple(notes))


def _read_json(path: Path) -> Any:
    check_input_file(path, "scene file", SceneFileError, "name a .json file")
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise SceneFileError(f"scene file {path} is not readable JSON: {reason}") from None
    except _NonFinite as error:
        raise SceneFileError(f"scene file {path} holds {error} (not a finite number)") from None


class _NonFinite(Exception):
    pass


def _refuse_constant(name: str) -> float:
    raise _NonFinite(name)  # NaN, Infinity and -Infinity, which Python's json would otherwise accept


def _shapes(prior: ScenePrior) -> dict[str, tuple[int, ...]]:
    """Each field's shape for one scene of this model (the batch axis dropped), read off a scene it draws."""
    template = prior.sample(1, torch.Generator().manual_seed(0))
    return {name: tuple(getattr(template, name).shape[1:]) for name in FIELD_NAMES}


def _check_record(record: Any, prior: ScenePrior, where: str) -> list[str]:
    if not isinstance(record, Mapping):
        raise SceneFileError(f"{where} is {_kind(record)}, not a mapping of scene fields")
    missing = [name for name in FIELD_NAMES if name not in record]
    unknown = sorted(set(record) - set(FIELD_NAMES))
    if missing or unknown:
        problem = f"misses {', '.join(missing)}" if missing else f"has unknown fields {', '.join(unknown)}"
        raise SceneFileError(f"{where} {problem} (a scene has {', '.join(FIELD_NAMES)})")
    present = record["object_present"]
    if isinstance(present, list) and len(present) != prior.num_objects:  # a file of another model
        raise SceneFileError(f"{where} has {len(present)} object slots, the model {prior.num_objects}")
    for name, shape in _shapes(prior).items():
        _check_values(record[name], shape, name, where, flag=name == "object_present")
    _check_limits(record, where)
    return _notes(record, prior, where)


def _check_values(value: Any, shape: tuple[int, ...], name: str, where: str, flag: bool) -> None:
    """``value`` is nested lists of ``shape`` holding finite numbers (or true/false where ``flag``)."""
    if shape:
        if not isinstance(value, list) or len(value) != shape[0]:
            found = f"{len(value)} entries" if isinstance(value, list) else _kind(value)
            raise SceneFileError(f"{where}: {name} must be a list of {shape[0]} for this model, got {found}")
        for entry in value:
            _check_values(entry, shape[1:], name, where, flag)
        return
    if flag:
        if not isinstance(value, bool):
            raise SceneFileError(f"{where}: {name} entries must be true or false, got {value!r}")
    elif not _is_number(value):
        raise SceneFileError(f"{where}: {name} must hold finite numbers, got {value!r}")


def _check_limits(record: Mapping, where: str) -> None:
    """Values that no camera or object can have: refused."""
    limits = (
        ("camera_radius", record["camera_radius"], lambda v: v > 0, "must be positive"),
        ("camera_fov_deg", record["camera_fov_deg"], lambda v: 0 < v < 180, "must lie in (0, 180) degrees"),
        (
            "camera_elevation_deg",
            record["camera_elevation_deg"],
            lambda v: abs(v) <= MAX_ELEVATION_DEG,
            f"must lie in [-{MAX_ELEVATION_DEG:g}, {MAX_ELEVATION_DEG:g}] degrees",
        ),
    )
    for name, value, ok, rule in limits:
        if not ok(value):
            raise SceneFileError(f"{where}: {name} {rule}, got {value!r}")
    for k, axes in enumerate(record["object_scale"]):
        if min(axes) <= 0:
            raise SceneFileError(f"{where}: object_scale of object {k} must be positive on every axis, got {axes}")


def _widened(r: Range) -> tuple[float, float]:
    margin = max(MARGIN * (r.high - r.low), MIN_MARGIN * max(abs(r.low), abs(r.high)), 1e-6)
    return r.low - margin, r.high + margin


def _notes(record: Mapping, prior: ScenePrior, where: str) -> list[str]:
    """One line per field with a value outside what the model was trained on."""
    checks: list[tuple[str, list[float], Range]] = [
        ("camera_elevation_deg", [record["camera_elevation_deg"]], prior.elevation_deg),
        ("camera_radius", [record["camera_radius"]], prior.radius),
        ("camera_fov_deg", [record["camera_fov_deg"]], prior.fov_deg),
    ]
    for axis, (translation, scale) in enumerate(zip(prior.translation, prior.scale, strict=True)):
        checks.append(
            (f"object_translation[{'xyz'[axis]}]", [t[axis] for t in record["object_translation"]], translation)
        )
        checks.append((f"object_scale[{'xyz'[axis]}]", [s[axis] for s in record["object_scale"]], scale))
    notes = []
    for name, values, trained in checks:
        low, high = _widened(trained)
        outside = [v for v in values if not low <= v <= high]
        if outside:
            notes.append(
                f"{where}: {name} {outside[0]:g} lies outside the model's training range "
                f"[{trained.low:g}, {trained.high:g}] (widened by half its width): rendered, but never seen in training"
            )
    for name in ("object_shape", "object_appearance", "background_shape", "background_appearance"):
        largest = max(abs(v) for v in _flat(record[name]))
        if largest > MAX_CODE:
            notes.append(
                f"{where}: {name} has an entry of magnitude {largest:.3g}, beyond {MAX_CODE:g} standard "
                f"deviations of the codes the model was trained on: rendered, but the image may break up"
            )
    return notes


def _flat(value: Any) -> list[float]:
    return [x for entry in value for x in _flat(entry)] if isinstance(value, list) else [value]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _kind(value: Any) -> str:
    """How a JSON value reads in a message."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"{type(value).__name__} {value!r}"[:80]
