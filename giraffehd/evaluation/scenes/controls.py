"""Per-object controls of a multi-object scene, measured by reading images with the scene evaluator.

Every measure takes an image source (giraffehd/evaluation/sources.py: a generator, or the dataset's own
renderer, which gives the floor) and a reader (images in [0, 1] to the objects found in each), and
changes one object of a scene at a time:

- count: objects added one by one, from none (the background alone) to every slot (the render sweep
  ``objects``); does the reader find as many objects as are present?
- translation: one object moved along x across the scene; the distance between where it is read and
  where the knob put it (its projected centre), in pixels of the image;
- isolation: one object moved, recoloured or removed (giraffehd/evaluation/scenes/isolation.py);
- colour: one object given another object's appearance code; does it read as that object's colour,
  and does every other object keep its own?

Readings are tied to objects by the knobs: each present object's projected centre is matched to one
found object (giraffehd/evaluation/scenes/geometry.py). Scenes are drawn from the prior with every slot
present and kept only when all projected centres are at least ``min_separation_px`` apart, so that
each object can be seen and told apart in both the floor and the model; moves keep that separation.

Axis legend: B scenes, N object slots, K objects found, T sweep steps, H W pixels.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor

from giraffehd.evaluation.scenes.evaluator import ObjectReading
from giraffehd.evaluation.scenes.geometry import projected_centres, read_at, separated
from giraffehd.evaluation.sources import ImageSource, Rendered, in_batches
from giraffehd.scene import SceneParameters, ScenePrior

SceneReader = Callable[[Float[Tensor, "B 3 H W"]], list[ObjectReading]]


@dataclass(frozen=True)
class SceneProtocol:
    """How the per-object controls are measured (conf/eval_scenes.yaml)."""

    seed: int = 0
    num_scenes: int = 32  # base scenes, every slot present and separated
    sweep_steps: int = 9  # positions of the moved object along x
    min_separation_px: float | int = 10.0  # between projected centres, pixels of the image
    change_levels: int = 1  # a pixel changed: some channel moved by more than this many 8-bit levels
    mask_dilation_px: int = 1  # the edited object's masks are widened by this much (antialiased edges)
    batch_size: int = 32

    def __post_init__(self) -> None:
        for name in ("num_scenes", "sweep_steps", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.sweep_steps < 2:
            raise ValueError(f"sweep_steps must be at least 2, got {self.sweep_steps}")
        if self.min_separation_px < 0 or self.change_levels < 0 or self.mask_dilation_px < 0:
            raise ValueError("min_separation_px, change_levels and mask_dilation_px must not be negative")


def render_and_read(
    source: ImageSource, reader: SceneReader, scenes: SceneParameters, batch_size: int
) -> tuple[Rendered, list[ObjectReading]]:
    rendered = in_batches(source, scenes, batch_size)
    readings: list[ObjectReading] = []
    for start in range(0, scenes.batch_size, batch_size):
        readings += reader((rendered.image[start : start + batch_size] + 1) / 2)
    return rendered, readings


@dataclass(frozen=True)
class CountAccuracy:
    per_count: dict[int, float]  # objects present (0: the background alone) -> share read as exactly that many
    overall: float
    chance: float  # a uniform guess among the counts measured


def add_objects_sweep(scenes: SceneParameters) -> tuple[Int[Tensor, " M"], SceneParameters]:
    """Every scene with slots 0..k-1 present for k = 0..N, scene by scene: (k per frame, the frames). k = 0 is
    the background alone, which should read as empty: a background that paints objects shows there."""
    n = scenes.num_objects
    counts = torch.arange(0, n + 1).repeat(scenes.batch_size)
    chosen = scenes.select(torch.arange(scenes.batch_size).repeat_interleave(n + 1))
    return counts, chosen.replace(object_present=torch.arange(n)[None, :] < counts[:, None])


def count_accuracy(
    source: ImageSource, reader: SceneReader, scenes: SceneParameters, batch_size: int = 32
) -> CountAccuracy:
    """Objects added one by one (slots 0..k-1 present, k = 0..N) in each scene: is the count read k?"""
    n = scenes.num_objects
    counts, chosen = add_objects_sweep(scenes)
    _, readings = render_and_read(source, reader, chosen, batch_size)
    right = torch.tensor([r.count for r in readings]) == counts
    per_count = {k: right[counts == k].float().mean().item() for k in range(0, n + 1)}
    return CountAccuracy(per_count, right.float().mean().item(), 1.0 / (n + 1))


@dataclass(frozen=True)
class TranslationControl:
    error_px: float  # mean distance between the read and the knob's projected centre, over moved frames
    chance_px: float  # the same distance if the object had stayed where the seed put it
    frames: int  # frames scored (the moved object kept apart from the others)


def translation_sweep(
    scenes: SceneParameters, x_range: tuple[float, float], protocol: SceneProtocol, resolution: int
) -> tuple[SceneParameters, Float[Tensor, "M N 2"], Int[Tensor, " M"], Int[Tensor, " K"]]:
    """Object ``b % N`` of scene b moved along x over ``x_range`` in ``protocol.sweep_steps`` steps: the
    frames, their objects' projected centres, the moved slot per frame, and the frames that keep the
    objects apart."""
    b, n, t = scenes.batch_size, scenes.num_objects, protocol.sweep_steps
    index = torch.arange(b).repeat_interleave(t)
    moved = index % n
    translation = scenes.select(index).object_translation.clone()
    translation[torch.arange(b * t), moved, 0] = torch.linspace(*x_range, t).repeat(b)
    swept = scenes.select(index).replace(object_translation=translation)
    expected = projected_centres(swept, resolution)
    keep = separated(expected, swept.object_present, protocol.min_separation_px)
    return swept, expected, moved, torch.nonzero(keep)[:, 0]


def translation_control(
    source: ImageSource,
    reader: SceneReader,
    scenes: SceneParameters,
    x_range: tuple[float, float],
    protocol: SceneProtocol,
    resolution: int,
) -> TranslationControl:
    """Object ``b % N`` of scene b moved along x over ``x_range`` in ``protocol.sweep_steps`` steps."""
    swept, expected, moved, chosen = translation_sweep(scenes, x_range, protocol, resolution)
    index = torch.arange(scenes.batch_size).repeat_interleave(protocol.sweep_steps)
    start = projected_centres(scenes, resolution)[index, moved]
    if chosen.numel() == 0:
        raise ValueError("no frame of the translation sweep keeps the objects apart; lower min_separation_px")
    _, readings = render_and_read(source, reader, swept.select(chosen), protocol.batch_size)
    errors, chance = [], []
    for reading, frame in zip(readings, chosen.tolist(), strict=True):
        read, _ = read_at(reading, expected[frame])
        errors.append((read[moved[frame]] - expected[frame, moved[frame]]).norm())
        chance.append((start[frame] - expected[frame, moved[frame]]).norm())
    return TranslationControl(torch.stack(errors).mean().item(), torch.stack(chance).mean().item(), len(chosen))


EDITS = ("move", "recolour", "remove")


def edited_slots(batch_size: int, num_objects: int) -> tuple[Int[Tensor, " B"], Int[Tensor, " B"]]:
    """Per scene b: the object edited (``b % N``) and its partner, another object, cycling through the rest."""
    target = torch.arange(batch_size) % num_objects
    partner = (target + 1 + torch.arange(batch_size) // num_objects % max(num_objects - 1, 1)) % num_objects
    return target, partner


def edited_scenes(
    scenes: SceneParameters, edit: str, partner: Int[Tensor, " B"], target: Int[Tensor, " B"],
    new_x: Float[Tensor, " B"],
) -> SceneParameters:  # fmt: skip
    """Scene b with object ``target[b]`` moved to x = ``new_x[b]``, given object ``partner[b]``'s appearance
    code, or removed."""
    rows = torch.arange(scenes.batch_size)
    if edit == "move":
        translation = scenes.object_translation.clone()
        translation[rows, target, 0] = new_x
        return scenes.replace(object_translation=translation)
    if edit == "recolour":
        appearance = scenes.object_appearance.clone()
        appearance[rows, target] = scenes.object_appearance[rows, partner]
        return scenes.replace(object_appearance=appearance)
    if edit == "remove":
        present = scenes.object_present.clone()
        present[rows, target] = False
        return scenes.replace(object_present=present)
    raise ValueError(f"unknown edit {edit!r}; known: {', '.join(EDITS)}")


@dataclass(frozen=True)
class ColourControl:
    swapped_reads_target: float  # share of edited objects read as their partner's colour (read before)
    others_keep: float  # share of the other objects read with the same colour before and after
    chance: float  # a uniform guess over the palette
    scenes: int


def colour_control(
    source: ImageSource,
    reader: SceneReader,
    scenes: SceneParameters,
    protocol: SceneProtocol,
    resolution: int,
    num_colours: int,
) -> ColourControl:
    """Object ``b % N`` of scene b given the appearance code of another object of the same scene."""
    b, n = scenes.batch_size, scenes.num_objects
    target, partner = edited_slots(b, n)
    swapped = edited_scenes(scenes, "recolour", partner, target, torch.zeros(b))
    _, before = render_and_read(source, reader, scenes, protocol.batch_size)
    _, after = render_and_read(source, reader, swapped, protocol.batch_size)
    expected = projected_centres(scenes, resolution)
    hits, kept, others = 0, 0, 0
    for i in range(b):
        _, a_before = read_at(before[i], expected[i])
        _, a_after = read_at(after[i], expected[i])
        colour_before = _colours(before[i], a_before)
        colour_after = _colours(after[i], a_after)
        k, p = int(target[i]), int(partner[i])
        hits += int(colour_after[k] >= 0 and colour_after[k] == colour_before[p])
        for m in range(n):
            if m != k:
                others += 1
                kept += int(colour_after[m] >= 0 and colour_after[m] == colour_before[m])
    return ColourControl(hits / b, kept / max(others, 1), 1.0 / num_colours, b)


def _colours(reading: ObjectReading, assigned: Tensor) -> list[int]:
    """The colour read for each expected object (-1: none found for it)."""
    return [int(reading.colour_index[k]) if k >= 0 else -1 for k in assigned.tolist()]


def x_range_of(prior: ScenePrior) -> tuple[float, float]:
    """The prior's range of object x (scene units)."""
    return (float(prior.translation[0].low), float(prior.translation[0].high))
