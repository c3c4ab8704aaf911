"""Scenes of a synthetic set with per-object ground truth, and the scene evaluator's per-pixel targets.

Scenes are drawn as the dataset draws them (``sample_labels``: the set's prior, classes and palette, image
i from seed ``seed * 1_000_003 + i``), optionally with an exact number of objects, and rendered with the
set's lighting and supersampling; the renderer's per-object coverage says which object each pixel shows.
An object is *visible* when its coverage sums to at least ``min_visible_pixels`` pixels (antialiased
shares, at the rendering resolution): only visible objects get a heatmap peak and are counted.
Centres are the projected object translations, exactly as the dataset's ``centre_pixel``.
Axis legend: B scenes, N object slots, H W pixels.
"""

import dataclasses
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int, UInt8
from torch import Tensor
from tqdm import tqdm

from giraffehd.data.synthetic.renderer import render_synthetic
from giraffehd.data.synthetic.writer import SyntheticSpec, sample_labels
from giraffehd.evaluation.scenes.geometry import projected_centres, separated
from giraffehd.scene import SceneParameters, ScenePrior


@dataclass(frozen=True)
class SceneSource:
    """What scenes are drawn from and rendered with: a synthetic set's prior, classes, palette and lighting."""

    prior: ScenePrior
    spec: SyntheticSpec
    supersampling: int = 2


@dataclass(frozen=True)
class SceneTruth:
    """Rendered scenes and their per-object ground truth at one resolution."""

    images: UInt8[Tensor, "B 3 H W"]  # quantised as the dataset's files are
    owner: Int[Tensor, "B H W"]  # slot covering most of the pixel; -1 where the backdrop covers half or more
    centres: Float[Tensor, "B N 2"]  # projected centres (x, y), pixels (the dataset's centre_pixel)
    class_index: Int[Tensor, "B N"]
    colour_index: Int[Tensor, "B N"]
    visible: Bool[Tensor, "B N"]  # present and covering at least min_visible_pixels

    def select(self, index: Tensor) -> "SceneTruth":
        return SceneTruth(*(getattr(self, f)[index] for f in SceneTruth.__dataclass_fields__))


@dataclass(frozen=True)
class SceneTargets:
    """Per-pixel training targets at the evaluator's resolution."""

    heatmap: Float[Tensor, "B 1 H W"]  # 1 at each visible object's centre pixel, Gaussian around it
    labels: Int[Tensor, "B H W"]  # 0 background, 1 + class
    colours: Int[Tensor, "B H W"]  # palette index; -1 (ignored) on the background
    offsets: Float[Tensor, "B 2 H W"]  # pixel centre to object centre; zero on the background
    foreground: Bool[Tensor, "B H W"]


def draw_scenes(
    source: SceneSource,
    seed: int,
    num_scenes: int,
    object_counts: Int[Tensor, " B"] | None = None,
    first: int = 0,
) -> tuple[SceneParameters, Int[Tensor, "B N"], Int[Tensor, "B N"]]:
    """Scenes first..first+num_scenes-1 of ``seed`` with classes and palette indices, drawn as the dataset
    draws them; with ``object_counts``, scene b shows exactly its first ``object_counts[b]`` slots."""
    scene, classes, colours = sample_labels(source.prior, source.spec, seed, range(first, first + num_scenes))
    if object_counts is not None:
        slots = torch.arange(source.prior.num_objects)
        scene = scene.replace(object_present=slots[None] < object_counts[:, None])
    return scene, classes, colours


def exact_counts(num_per_count: int, max_count: int) -> Int[Tensor, " B"]:
    """1, 2, ..., max_count, 1, 2, ...: ``num_per_count`` scenes of each count (for the count figure)."""
    return torch.arange(num_per_count * max_count) % max_count + 1


def separated_draws(
    source: SceneSource,
    seed: int,
    num_per_count: int,
    max_count: int,
    resolution: int,
    min_separation_px: float | int,
    first: int = 0,
    max_draws: int = 200_000,
) -> tuple[SceneParameters, Int[Tensor, "B N"], Int[Tensor, "B N"]]:
    """``num_per_count`` scenes with exactly c objects for each c in 1..max_count, keeping only scenes whose
    projected centres are all at least ``min_separation_px`` apart (the count protocol of the scene
    scorecard): draws ``first``, ``first + 1``, ... of ``seed``, draw i showing ``i % max_count + 1`` objects."""
    kept: list[tuple[SceneParameters, Tensor, Tensor]] = []
    wanted = {c: num_per_count for c in range(1, max_count + 1)}
    start, chunk = first, 1000
    while any(wanted.values()):
        if start - first >= max_draws:
            raise ValueError(f"min_separation_px={min_separation_px}: too few scenes keep their objects that far apart")
        counts = (torch.arange(start, start + chunk) % max_count) + 1
        scene, classes, colours = draw_scenes(source, seed, chunk, counts, start)
        apart = separated(projected_centres(scene, resolution), scene.object_present, min_separation_px)
        keep = []
        for b in apart.nonzero()[:, 0].tolist():
            if wanted[int(counts[b])]:
                wanted[int(counts[b])] -= 1
                keep.append(b)
        index = torch.tensor(keep, dtype=torch.long)
        kept.append((scene.select(index), classes[index], colours[index]))
        start += chunk
    return SceneParameters.cat([k[0] for k in kept]), torch.cat([k[1] for k in kept]), torch.cat([k[2] for k in kept])


def render_truth(
    source: SceneSource,
    draws: tuple[SceneParameters, Tensor, Tensor],
    resolution: int,
    min_visible_pixels: float | int,
    batch_size: int = 64,
    desc: str | None = None,
) -> SceneTruth:
    """Render drawn scenes and their ground truth (a progress bar when ``desc``)."""
    scene, classes, colours = draws
    palette = torch.tensor([[float(c) for c in rgb] for rgb in source.spec.palette.values()])
    parts = []
    starts = range(0, scene.batch_size, batch_size)
    for start in tqdm(starts, desc=desc, unit="batch", disable=desc is None):
        part = slice(start, start + batch_size)
        s = scene.select(part)
        out = render_synthetic(
            s,
            classes[part],
            palette[colours[part]],
            source.spec.classes,
            resolution,
            source.spec.lighting,
            source.supersampling,
        )
        coverage = out.object_coverage
        owner = torch.where(coverage.sum(dim=1) >= 0.5, coverage.argmax(dim=1), -1)
        parts.append(
            SceneTruth(
                images=(out.image * 255).round().to(torch.uint8),
                owner=owner.to(torch.int8),
                centres=projected_centres(s, resolution),
                class_index=classes[part],
                colour_index=colours[part],
                visible=s.object_present & (coverage.sum(dim=(2, 3)) >= min_visible_pixels),
            )
        )
    return SceneTruth(*(torch.cat([getattr(p, f) for p in parts]) for f in SceneTruth.__dataclass_fields__))


def mirrored(truth: SceneTruth, flip: Bool[Tensor, " B"]) -> SceneTruth:
    """Scenes with ``flip`` mirrored left to right (images, owners and centres)."""
    width = truth.images.shape[-1]
    centres = truth.centres.clone()
    centres[flip, :, 0] = width - centres[flip, :, 0]
    return dataclasses.replace(
        truth,
        images=torch.where(flip[:, None, None, None], truth.images.flip(-1), truth.images),
        owner=torch.where(flip[:, None, None], truth.owner.flip(-1), truth.owner),
        centres=centres,
    )


def scene_targets(truth: SceneTruth, sigma: float | int) -> SceneTargets:
    """The heads' targets: a Gaussian of ``sigma`` pixels peaking (1) at the pixel holding each visible
    object's centre (CenterNet), and per pixel the label, colour and offset of the object it shows."""
    b, h, w = truth.owner.shape
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pixel_xy = torch.stack([cols, rows], dim=-1).float() + 0.5  # (H, W, 2)
    peak = (
        torch.stack(
            [truth.centres[..., 0].floor().clamp(0, w - 1), truth.centres[..., 1].floor().clamp(0, h - 1)], dim=-1
        )
        + 0.5
    )
    distance2 = (pixel_xy[None, None] - peak[:, :, None, None]).square().sum(dim=-1)  # (B, N, H, W)
    gaussian = torch.exp(-distance2 / (2 * sigma**2)) * truth.visible[:, :, None, None]
    owner = truth.owner.long()
    foreground = owner >= 0
    slot = owner.clamp(min=0).flatten(1)  # (B, H W)
    centre = truth.centres.gather(1, slot[..., None].expand(-1, -1, 2)).reshape(b, h, w, 2)
    offsets = torch.where(foreground[..., None], centre - pixel_xy, 0.0).permute(0, 3, 1, 2)
    labels = torch.where(foreground, 1 + truth.class_index.gather(1, slot).reshape(b, h, w), 0)
    colours = torch.where(foreground, truth.colour_index.gather(1, slot).reshape(b, h, w), -1)
    return SceneTargets(gaussian.amax(dim=1, keepdim=True), labels, colours, offsets.contiguous(), foreground)
