"""How well a scene evaluator's readings match the ground truth, by the true number of visible objects.

Read objects are matched one-to-one to the visible true objects by the Hungarian assignment on centre
distance; a pair farther apart than ``gate_pixels`` is no match (a missed object and a spurious one).
Figures per row (scenes with that many visible objects) and over all scenes:
- count accuracy: share of scenes where the number read equals the number visible;
- centre error: mean distance of matched pairs, pixels; class and colour accuracy: over matched pairs;
- mask IoU: mean over the visible true objects, 0 for a missed one (so misses cost here too);
- crowded: scenes where two visible true centres lie closer than ``crowded_pixels``: objects may
  interpenetrate, and two peaks that close cannot both survive 3x3 peak suppression, so these scenes
  bound the count accuracy from above.
Axis legend: B scenes, N object slots, H W pixels.
"""

import numpy as np
import torch
from jaxtyping import Bool, Float, Int
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from giraffehd.evaluation.scenes.evaluator import ObjectReading


def match_objects(
    read: Float[Tensor, "K 2"], true: Float[Tensor, "T 2"], gate_pixels: float | int
) -> list[tuple[int, int, float]]:
    """(read index, true index, distance) of the Hungarian matching, pairs within ``gate_pixels`` only."""
    if read.shape[0] == 0 or true.shape[0] == 0:
        return []
    distance = torch.cdist(read.double(), true.double()).numpy()
    rows, cols = linear_sum_assignment(distance)
    return [
        (int(r), int(c), float(distance[r, c]))
        for r, c in zip(rows, cols, strict=True)
        if distance[r, c] <= gate_pixels
    ]


def score_readings(
    readings: list[ObjectReading],
    centres: Float[Tensor, "B N 2"],
    class_index: Int[Tensor, "B N"],
    colour_index: Int[Tensor, "B N"],
    visible: Bool[Tensor, "B N"],
    owner: Int[Tensor, "B H W"],
    max_count: int = 5,
    gate_pixels: float | int = 4.0,
    crowded_pixels: float | int = 2.0,
) -> dict:
    """Rows "1" .. str(max_count) (true visible count) and "all", each a dict of figures (module docstring)."""
    rows: dict[str, dict[str, list]] = {}
    for b, reading in enumerate(readings):
        truth = visible[b].nonzero()[:, 0]
        matches = match_objects(reading.centres, centres[b, truth], gate_pixels)
        iou = [0.0] * len(truth)
        for k, t, _ in matches:
            true_mask = owner[b] == truth[t]
            union = (reading.masks[k] | true_mask).sum().item()
            iou[t] = (reading.masks[k] & true_mask).sum().item() / max(union, 1)
        spacing = torch.cdist(centres[b, truth], centres[b, truth]) + torch.eye(len(truth)) * crowded_pixels
        figures = {
            "count": [reading.count == len(truth)],
            "crowded": [bool((spacing < crowded_pixels).any())],
            "centre": [d for _, _, d in matches],
            "class": [bool(reading.class_index[k] == class_index[b, truth[t]]) for k, t, _ in matches],
            "colour": [bool(reading.colour_index[k] == colour_index[b, truth[t]]) for k, t, _ in matches],
            "iou": iou,
            "missed": [len(truth) - len(matches)],
            "spurious": [reading.count - len(matches)],
        }
        keys = ["all"] + ([str(len(truth))] if 1 <= len(truth) <= max_count else [])
        for key in keys:
            row = rows.setdefault(key, {name: [] for name in figures})
            for name, values in figures.items():
                row[name].extend(values)

    def mean(values: list) -> float | None:
        return float(np.mean(values)) if values else None

    order = [str(c) for c in range(1, max_count + 1)] + ["all"]
    return {
        key: {
            "scenes": len(rows[key]["count"]),
            "objects": len(rows[key]["iou"]),
            "count_accuracy": mean(rows[key]["count"]),
            "centre_error_px": mean(rows[key]["centre"]),
            "class_accuracy": mean(rows[key]["class"]),
            "colour_accuracy": mean(rows[key]["colour"]),
            "mask_iou": mean(rows[key]["iou"]),
            "missed": int(sum(rows[key]["missed"])),
            "spurious": int(sum(rows[key]["spurious"])),
            "crowded": int(sum(rows[key]["crowded"])),
        }
        for key in order
        if key in rows
    }


def scores_table(scores: dict) -> str:
    """The figures of :func:`score_readings` as a Markdown table, one row per true visible count."""
    lines = [
        "| visible objects | scenes | count accuracy | centre error (px) | class accuracy | colour accuracy "
        "| mask IoU | missed | spurious | crowded |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(value: float | None, digits: int, percent: bool = False) -> str:
        if value is None:
            return "-"
        return f"{100 * value:.{digits}f}%" if percent else f"{value:.{digits}f}"

    for key, row in scores.items():
        lines.append(
            f"| {key} | {row['scenes']} | {cell(row['count_accuracy'], 1, True)} | {cell(row['centre_error_px'], 2)} "
            f"| {cell(row['class_accuracy'], 1, True)} | {cell(row['colour_accuracy'], 1, True)} "
            f"| {cell(row['mask_iou'], 3)} | {row['missed']} | {row['spurious']} | {row['crowded']} |"
        )
    return "\n".join(lines)
