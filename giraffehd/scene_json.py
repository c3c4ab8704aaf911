"""Scene parameters as JSON, exactly: a frame written here re-renders bit for bit.

One scene (batch of 1) becomes a mapping from field name to nested lists, e.g.
``{"camera_elevation_deg": 17.5, "object_rotation_deg": [90.0], "object_present": [true], ...}``.
Float32 values are written as the Python float (float64) of the same value, whose ``repr`` round-trips,
so reading them back into float32 gives the very same bits. Units are those of
:class:`~giraffehd.scene.SceneParameters`: degrees and scene units.
"""

from collections.abc import Mapping
from typing import Any

import torch

from giraffehd.scene import FIELD_NAMES, SceneParameters

_BOOL_FIELDS = ("object_present",)


def scene_to_json(scene: SceneParameters) -> list[dict[str, Any]]:
    """One JSON-ready mapping per scene of the batch (the batch axis dropped)."""
    columns = {name: getattr(scene, name).detach().cpu().tolist() for name in FIELD_NAMES}
    return [{name: columns[name][i] for name in FIELD_NAMES} for i in range(scene.batch_size)]


def scene_from_json(
    records: Mapping[str, Any] | list[Mapping[str, Any]], device: torch.device | str = "cpu"
) -> SceneParameters:
    """A batch of scenes from one mapping written by :func:`scene_to_json`, or from a list of them."""
    if isinstance(records, Mapping):
        records = [records]
    if not records:
        raise ValueError("no scenes to read")
    for record in records:
        missing = [name for name in FIELD_NAMES if name not in record]
        unknown = sorted(set(record) - set(FIELD_NAMES))
        if missing or unknown:
            raise ValueError(f"not a scene record: missing {missing}, unknown {unknown}")

    def column(name: str) -> torch.Tensor:
        dtype = torch.bool if name in _BOOL_FIELDS else torch.float32
        return torch.tensor([record[name] for record in records], dtype=dtype, device=device)

    return SceneParameters(**{name: column(name) for name in FIELD_NAMES})
