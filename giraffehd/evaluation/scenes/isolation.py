"""Isolation of a multi-object scene's controls: does editing one object leave the rest of the image alone?

One object per scene is moved, recoloured (given another object's appearance code) or removed; measured
are the share of pixels outside that object's masks (before and after, widened by ``mask_dilation_px``)
whose 8-bit value changes by more than ``change_levels`` in any channel, and how far the other objects
are read to move. Chance: the same figures when the whole scene is replaced by another one. Scenes,
readers and the tie between readings and objects are those of giraffehd/evaluation/scenes/controls.py.

Axis legend: B scenes, N object slots, H W pixels.
"""

import math
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from torch.nn import functional as F

from giraffehd.evaluation.car.controls import quantize
from giraffehd.evaluation.scenes.controls import (
    EDITS,
    SceneProtocol,
    SceneReader,
    edited_scenes,
    edited_slots,
    render_and_read,
)
from giraffehd.evaluation.scenes.geometry import projected_centres, read_at, separated
from giraffehd.evaluation.sources import ImageSource
from giraffehd.scene import SceneParameters


def changed_pixels(before: Float[Tensor, "B 3 H W"], after: Float[Tensor, "B 3 H W"], levels: int) -> Tensor:
    """Pixels ([-1, 1] images) whose 8-bit value moves by more than ``levels`` in any channel (B, H, W)."""
    return ((quantize(before) - quantize(after)).abs() > levels).any(dim=1)


def dilate(mask: Tensor, pixels: int) -> Tensor:
    """A (H, W) boolean mask widened by ``pixels`` in every direction (a square neighbourhood)."""
    if pixels == 0:
        return mask
    size = 2 * pixels + 1
    return F.max_pool2d(mask[None, None].float(), size, stride=1, padding=pixels)[0, 0] > 0


@dataclass(frozen=True)
class Isolation:
    edit: str  # move, recolour or remove
    other_pixels_changed: float  # share of pixels outside the edited object's masks that change
    other_shift_px: float  # mean read movement of the objects not edited
    chance_pixels: float  # the same share when the whole scene is replaced by another one
    chance_shift_px: float  # mean distance between the objects' centres and those of another scene
    scenes: int


def edit_plan(
    scenes: SceneParameters, x_range: tuple[float, float], protocol: SceneProtocol, resolution: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per scene: the edited object, its partner (another object), a new x that keeps every object apart,
    and whether such an x was found (B each). Deterministic in ``protocol.seed``."""
    target, partner = edited_slots(scenes.batch_size, scenes.num_objects)
    b = scenes.batch_size
    rng = torch.Generator().manual_seed(protocol.seed + 7)
    new_x = torch.zeros(b)
    found = torch.zeros(b, dtype=torch.bool)
    rows = torch.arange(b)
    for _ in range(64):  # tries per scene
        candidate = x_range[0] + (x_range[1] - x_range[0]) * torch.rand(b, generator=rng)
        moved = edited_scenes(scenes, "move", partner, target, candidate)
        ok = separated(projected_centres(moved, resolution), moved.object_present, protocol.min_separation_px)
        far = (candidate - scenes.object_translation[rows, target, 0]).abs() > 0.1 * (x_range[1] - x_range[0])
        take = ok & far & ~found
        new_x[take] = candidate[take]
        found |= take
    return target, partner, new_x, found


def isolation(
    source: ImageSource,
    reader: SceneReader,
    scenes: SceneParameters,
    x_range: tuple[float, float],
    protocol: SceneProtocol,
    resolution: int,
) -> list[Isolation]:
    """One object of each scene moved, recoloured and removed (scenes without a free spot to move to are
    left out of every edit, so that the three edits read the same scenes)."""
    target, partner, new_x, found = edit_plan(scenes, x_range, protocol, resolution)
    scenes, target, partner, new_x = (scenes.select(found), target[found], partner[found], new_x[found])
    if scenes.batch_size == 0:
        raise ValueError("no scene has a free spot to move an object to; lower min_separation_px")
    before, before_read = render_and_read(source, reader, scenes, protocol.batch_size)
    expected_before = projected_centres(scenes, resolution)
    # Chance: every pixel and object of another scene (the next one) in place of the edit.
    replaced = changed_pixels(before.image, before.image.roll(1, dims=0), protocol.change_levels)
    chance_pixels = replaced.float().mean().item()
    chance_shift = (expected_before.roll(1, dims=0) - expected_before).norm(dim=-1).mean().item()
    results = []
    for edit in EDITS:
        changed_scenes = edited_scenes(scenes, edit, partner, target, new_x)
        after, after_read = render_and_read(source, reader, changed_scenes, protocol.batch_size)
        expected_after = projected_centres(changed_scenes, resolution)
        outside_changed, outside_total, shifts = 0, 0, []
        changed = changed_pixels(before.image, after.image, protocol.change_levels)
        for b in range(scenes.batch_size):
            k = int(target[b])
            others = torch.arange(scenes.num_objects) != k
            read_before, assigned_before = read_at(before_read[b], expected_before[b])
            present_after = changed_scenes.object_present[b]
            read_after, assigned_after = read_at(after_read[b], expected_after[b][present_after])
            inside = torch.zeros(changed.shape[1:], dtype=torch.bool)
            if assigned_before[k] >= 0:
                inside |= before_read[b].masks[assigned_before[k]]
            slot_after = int(present_after[:k].sum())  # the target's row among the present objects after
            if present_after[k] and assigned_after[slot_after] >= 0:
                inside |= after_read[b].masks[assigned_after[slot_after]]
            inside = dilate(inside, protocol.mask_dilation_px)
            outside_changed += int((changed[b] & ~inside).sum())
            outside_total += int((~inside).sum())
            after_full = torch.full_like(read_before, float("inf"))
            after_full[present_after] = read_after
            # An object found in neither image counts as moved by the image's diagonal.
            shift = (after_full[others] - read_before[others]).norm(dim=-1)
            shifts.append(shift.nan_to_num(nan=math.inf).clamp(max=resolution * math.sqrt(2)))
        shift = torch.cat(shifts)
        share = outside_changed / max(outside_total, 1)
        results.append(Isolation(edit, share, shift.mean().item(), chance_pixels, chance_shift, scenes.batch_size))
    return results
