"""Scene files: one or more scenes as JSON, written by giraffehd-view's export (and any tool that writes
:func:`giraffehd.scene_json.scene_to_json` records), read by ``giraffehd-render scene=FILE``.

A file holds either a record ``{"scene": {...} or [{...}, ...], "truncation_psi": ..., "batch_size": ...}``
(the render settings are optional; with them the frame re-renders bit for bit) or the bare scene mapping
or list of mappings.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from giraffehd.scene import SceneParameters
from giraffehd.scene_json import scene_from_json


@dataclass(frozen=True)
class SceneFile:
    scene: SceneParameters  # B scenes
    truncation_psi: float | None  # the settings the file was rendered with, when it says
    batch_size: int | None


def read_scene_file(path: str | Path, num_objects: int) -> SceneFile:
    """The scenes of ``path``; every error is one line naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"scene file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"scene file {path} is not readable JSON: {error}") from None
    settings = data if isinstance(data, Mapping) and "scene" in data else {}
    records = settings.get("scene", data)
    try:
        scene = scene_from_json(records)
    except (ValueError, TypeError, RuntimeError) as error:
        raise ValueError(f"scene file {path}: {' '.join(str(error).split())}") from None
    if scene.num_objects != num_objects:
        raise ValueError(f"scene file {path} has {scene.num_objects} object slots, the model {num_objects}")
    psi, batch = settings.get("truncation_psi"), settings.get("batch_size")
    if psi is not None and (isinstance(psi, bool) or not isinstance(psi, int | float)):
        raise ValueError(f"scene file {path}: truncation_psi must be a number, got {psi!r}")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise ValueError(f"scene file {path}: batch_size must be a positive integer, got {batch!r}")
    return SceneFile(scene, None if psi is None else float(psi), batch)
