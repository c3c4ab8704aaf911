"""Controllability metrics: knob sweeps read back by the evaluator, background stability, mask quality.

Every metric takes an image source (giraffehd/evaluation/sources.py), so the same protocol gives a
generator's figure, its floor (the dataset's own renderer) and its chance level (the same source with
the knob held at each seed's base value, so that its images ignore the knob). Scenes come from
``prior.sample(n, torch.Generator().manual_seed(seed))``: the same seeds give the same figures.

Knobs (each a knob of :mod:`giraffehd.knobs`, by its name there, set on object slot 0, the object the
evaluator reads) and what the evaluator reads for them:
- rotation: the heading (rotation minus camera azimuth); target = knob - azimuth;
- azimuth: the heading too; target = rotation - knob (a fixed-azimuth dataset can still score it);
- elevation: the elevation;
- translation_x / _y / _z: one world axis swept; target and reading in the camera's ground frame.
Axis legend: S seeds, K knob values, B scenes.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.evaluation.alignment import ControlError, angular_control_error, linear_control_error
from giraffehd.evaluation.car.evaluator import Evaluator, Reading
from giraffehd.evaluation.car.evaluator_training import mask_iou, read_all
from giraffehd.evaluation.car.render_match import MatchReading
from giraffehd.evaluation.labels import view_translation
from giraffehd.evaluation.sources import ImageSource, in_batches
from giraffehd.knobs import Knob, all_knobs
from giraffehd.scene import SceneParameters, ScenePrior

# The knobs (knobs.py names) whose effect a reader reads back from an image.
READ_KNOBS = ("rotation", "azimuth", "elevation", "translation_x", "translation_y", "translation_z")
EVALUATED_SLOT = 0  # the object the evaluator reads, and so the one each knob turns
# A reader of images of known scenes: the evaluator (which looks at the images only) or render-and-match
# (which also uses each scene's camera and object translation).
ImageReader = Callable[[Float[Tensor, "B 3 H W"], SceneParameters], Reading | MatchReading]


def registry_knob(prior: ScenePrior, knob: str) -> Knob:
    """The registry's knob ``knob``, with ranges from ``prior``: one a reader reads."""
    if knob not in READ_KNOBS:
        raise ValueError(f"unknown knob {knob!r}; known: {', '.join(READ_KNOBS)}")
    return all_knobs(prior)[knob]


def sweep_range(prior: ScenePrior, knob: str, azimuth_if_fixed: Sequence[float | int] | None) -> tuple | None:
    """(low, high) swept for ``knob``: the prior's range; None where the prior fixes it (not applicable),
    except the azimuth, which sweeps ``azimuth_if_fixed`` then (unless that is None)."""
    low, high = registry_knob(prior, knob).default_range
    if high > low:
        return (low, high)
    if knob == "azimuth" and azimuth_if_fixed is not None:
        low, high = (float(v) for v in azimuth_if_fixed)
        return (low, high)
    return None


def sweep_values(low: float | int, high: float | int, steps: int, angular: bool) -> Float[Tensor, " K"]:
    """``steps`` evenly spaced values; a full turn leaves out its end (it would repeat the start)."""
    if angular and high - low >= 360 - 1e-6:
        return low + torch.arange(steps) * (360.0 / steps)
    return torch.linspace(float(low), float(high), steps)


def base_scenes(prior: ScenePrior, seeds: Sequence[int]) -> SceneParameters:
    """One scene per seed."""
    return SceneParameters.cat([prior.sample(1, torch.Generator().manual_seed(int(s))) for s in seeds])


def evaluator_reader(evaluator: Evaluator) -> ImageReader:
    """The evaluator as an :data:`ImageReader`."""
    return lambda images, scenes: read_all(evaluator, images)


def target_and_reading(knob: str, scenes: SceneParameters, reading: Reading | MatchReading) -> tuple[Tensor, Tensor]:
    """What the reader should read for each swept scene (object slot 0), and what it read."""
    azimuth = scenes.camera_azimuth_deg
    if knob in ("rotation", "azimuth"):
        return scenes.object_rotation_deg[:, EVALUATED_SLOT] - azimuth, reading.heading_deg
    if knob == "elevation":
        return scenes.camera_elevation_deg, reading.elevation_deg
    return view_translation(scenes.object_translation[:, EVALUATED_SLOT], azimuth), reading.translation


def swept_error(
    reader: ImageReader,
    source: ImageSource,
    prior: ScenePrior,
    knob: str,
    values: Float[Tensor, " K"],
    seeds: Sequence[int],
    batch_size: int = 64,
    hold_knob: bool = False,
    desc: str | None = None,
) -> ControlError:
    """Sweep ``knob`` over ``values`` for each seed's base scene and compare ``reader``'s reading with the target.

    ``hold_knob``: render each base scene once, unchanged, for every value (a source that ignores the
    knob): the chance level of the same protocol.
    """
    turned = registry_knob(prior, knob)
    base = base_scenes(prior, seeds)
    k = values.shape[0]
    seed_major = base.select(torch.arange(base.batch_size).repeat_interleave(k))  # S x K copies
    scenes = turned.write(seed_major, values.repeat(len(seeds)), EVALUATED_SLOT)
    if hold_knob:
        reading = reader(in_batches(source, base, batch_size, desc).image, base)
        reading = type(reading)(
            **{f.name: getattr(reading, f.name).repeat_interleave(k, dim=0) for f in fields(reading)}
        )
    else:
        reading = reader(in_batches(source, scenes, batch_size, desc).image, scenes)
    target, read = target_and_reading(knob, scenes, reading)
    s = len(seeds)
    if turned.periodic:
        # Turning the camera one way turns the visible heading the other: the sign is found either way.
        return angular_control_error(target.reshape(s, k), read.reshape(s, k))
    return linear_control_error(target.reshape(s, k, -1), read.reshape(s, k, -1))


@dataclass(frozen=True)
class BackgroundStability:
    changed: float  # fraction of background pixels that changed
    background_share: float  # fraction of all pixels that count as background


def resample_foreground(
    scene: SceneParameters, other: SceneParameters, include_background: bool = False
) -> SceneParameters:
    """``scene`` with the objects (codes, poses, presence) of ``other``; with its background codes too
    when ``include_background``. The camera stays."""
    fields = ["object_shape", "object_appearance", "object_rotation_deg", "object_translation", "object_scale"]
    fields += ["object_present"] + (["background_shape", "background_appearance"] if include_background else [])
    return scene.replace(**{f: getattr(other, f) for f in fields})


def quantize(images: Float[Tensor, "B 3 H W"]) -> Tensor:
    """[-1, 1] images to 8-bit levels (as integers)."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().long()


def background_stability(
    source: ImageSource,
    prior: ScenePrior,
    num_samples: int,
    seed: int,
    batch_size: int = 64,
    include_background: bool = False,
    mask_threshold: float = 0.5,
    desc: str | None = None,
) -> "BackgroundStability":
    """Fraction of background pixels (mask below ``mask_threshold`` in both images) whose 8-bit value
    changes by more than 1 in any channel when only the foreground is resampled (GIRAFFE HD's measure).
    ``include_background`` resamples the background codes as well: the chance level."""
    scenes = prior.sample(num_samples, torch.Generator().manual_seed(seed))
    others = prior.sample(num_samples, torch.Generator().manual_seed(seed + 1_000_003))
    changed_scenes = resample_foreground(scenes, others, include_background)
    a = in_batches(source, SceneParameters.cat([scenes, changed_scenes]), batch_size, desc)
    image, mask = a.image.chunk(2), a.mask.chunk(2)
    background = (torch.maximum(mask[0], mask[1]) < mask_threshold)[:, 0]
    changed = ((quantize(image[0]) - quantize(image[1])).abs() > 1).any(dim=1)
    count = background.sum()
    fraction = (changed & background).sum().item() / count.item() if count > 0 else 0.0
    return BackgroundStability(fraction, background.float().mean().item())


@dataclass(frozen=True)
class SampleQuality:
    mask_iou: float  # generator mask vs the evaluator's mask of the same image
    mask_iou_shuffled: float  # generator mask vs the evaluator's mask of the next image (chance)
    colour_fractions: list[float]  # share of samples the evaluator reads as each palette colour


def sample_quality(
    evaluator: Evaluator,
    source: ImageSource,
    prior: ScenePrior,
    num_samples: int,
    seed: int,
    batch_size: int = 64,
    desc: str | None = None,
) -> SampleQuality:
    """Mask IoU (masks thresholded at 0.5, at the evaluator's resolution) and the colour distribution."""
    rendered = in_batches(source, prior.sample(num_samples, torch.Generator().manual_seed(seed)), batch_size, desc)
    reading = read_all(evaluator, rendered.image)
    own = evaluator.resize(rendered.mask) > 0.5
    read = reading.mask > 0.5
    counts = torch.bincount(reading.colour_index, minlength=len(evaluator.colour_names)).float()
    return SampleQuality(
        mask_iou=mask_iou(own, read).mean().item(),
        mask_iou_shuffled=mask_iou(own, read.roll(1, dims=0)).mean().item(),
        colour_fractions=(counts / counts.sum()).tolist(),
    )
