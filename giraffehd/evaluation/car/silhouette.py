"""Silhouettes against the truth: each image's mask beside the mask of the true render at the pose that
render-and-match reads for it, as IoU and as boundary F-score.

For each image of a source (a generator, an upscaled generator, the dataset's own renderer):
1. render-and-match (render_match.py) reads its heading and camera elevation, the scene's camera and object
   translation being known;
2. the synthetic dataset's ray tracer renders the true object at that heading and elevation, with the
   scene's camera and translation, the dataset's object box (a generator's box is its own: the car is the
   same size in scene units, see giraffehd/mesh/compare.py ``between_boxes``) and the colour the reader fit;
3. both masks are thresholded at 0.5 and compared: IoU, and the boundary F-score within a tolerance.

The boundary of a binary mask is its inner boundary: the mask's pixels with a 4-neighbour outside it
(the image frame does not count as outside). A boundary pixel is matched when a boundary pixel of the other
mask lies within ``tolerance_px`` (Euclidean, between pixel centres); precision is the share of the
prediction's boundary that is matched, recall the share of the truth's, F their harmonic mean. An edge moved
by d pixels moves its inner boundary by d pixels, so the tolerance reads as the edge's displacement.

The reader's own floor: true renders through the same read-then-render path, scored against their own
masks; what it loses is the reader's error, not the source's. Axis legend: B images, H W pixels.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor
from tqdm import tqdm

from giraffehd.data.synthetic.renderer import render_synthetic
from giraffehd.evaluation.car.render_candidates import Candidates, CandidateSpec
from giraffehd.evaluation.car.render_match import MatchReading, match_reader
from giraffehd.evaluation.labels import SyntheticDataset
from giraffehd.evaluation.quality.fid_resize import resize_images
from giraffehd.evaluation.sources import ImageSource, Rendered, generator_source, in_batches, synthetic_source
from giraffehd.model_io import LoadedModel
from giraffehd.scene import SceneParameters

MASK_THRESHOLD = 0.5  # a pixel is in a soft mask when its value is at least this
LOW_F_SCORE = 0.5  # the table's share of images whose F-score falls below this


def _check_masks(**masks: Tensor) -> None:
    """Boolean (B, H, W) masks of one shape; a ValueError naming the argument if not."""
    shapes = {}
    for name, mask in masks.items():
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            kind = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(f"{name} must be a boolean mask tensor (threshold it first), got {kind}")
        if mask.ndim != 3:
            raise ValueError(f"{name} must have shape (B, H, W), got {tuple(mask.shape)}")
        shapes[name] = tuple(mask.shape)
    if len(set(shapes.values())) > 1:
        described = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"the masks must have one shape, got {described}")


def mask_boundary(mask: Tensor) -> Bool[Tensor, "B H W"]:
    """The inner boundary of boolean masks (B, H, W): pixels of the mask with a 4-neighbour outside it.
    Pixels beyond the image frame count as their nearest pixel, so the frame itself is no boundary."""
    _check_masks(mask=mask)
    padded = F.pad(mask.float()[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]
    outside = torch.stack([padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]]).amin(
        dim=0
    )
    return mask & (outside < 0.5)


def _near(boundary: Bool[Tensor, "B H W"], tolerance_px: float | int) -> Bool[Tensor, "B H W"]:
    """Pixels within ``tolerance_px`` (Euclidean, pixel centres) of a pixel of ``boundary``."""
    reach = math.floor(tolerance_px)
    offsets = torch.arange(-reach, reach + 1, dtype=torch.float32)
    disc = (offsets[:, None] ** 2 + offsets[None] ** 2 <= tolerance_px**2 + 1e-9).float()
    spread = F.conv2d(boundary.float()[:, None], disc[None, None], padding=reach)[:, 0]
    return spread > 0.5


@dataclass(frozen=True)
class BoundaryScore:
    """Boundary agreement of B predicted masks with B true ones, within one tolerance."""

    precision: Float[Tensor, " B"]  # share of the prediction's boundary pixels near the truth's boundary
    recall: Float[Tensor, " B"]  # share of the truth's boundary pixels near the prediction's boundary
    f_score: Float[Tensor, " B"]  # harmonic mean of the two (0 where both are 0)


def boundary_f_score(pred: Tensor, true: Tensor, tolerance_px: float | int = 2.0) -> BoundaryScore:
    """Boundary precision, recall and F-score of boolean masks ``pred`` against ``true`` (B, H, W each).

    Where both boundaries are empty all three are 1; where only one is, all three are 0."""
    _check_masks(pred=pred, true=true)
    if not tolerance_px >= 0:
        raise ValueError(f"tolerance_px must be at least 0, got {tolerance_px}")
    pred_edge, true_edge = mask_boundary(pred), mask_boundary(true)
    pred_count = pred_edge.flatten(1).sum(dim=1).float()
    true_count = true_edge.flatten(1).sum(dim=1).float()
    precision = (pred_edge & _near(true_edge, tolerance_px)).flatten(1).sum(dim=1) / pred_count.clamp(min=1)
    recall = (true_edge & _near(pred_edge, tolerance_px)).flatten(1).sum(dim=1) / true_count.clamp(min=1)
    f_score = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    both_empty = (pred_count == 0) & (true_count == 0)
    one_empty = (pred_count == 0) ^ (true_count == 0)

    def settled(x: Tensor) -> Tensor:
        return torch.where(both_empty, 1.0, torch.where(one_empty, 0.0, x))

    return BoundaryScore(settled(precision), settled(recall), settled(f_score))


def mask_iou(pred: Tensor, true: Tensor) -> Float[Tensor, " B"]:
    """Intersection over union of boolean masks ``pred`` and ``true`` (B, H, W each); 1 where both are empty."""
    _check_masks(pred=pred, true=true)
    intersection = (pred & true).flatten(1).sum(dim=1).float()
    union = (pred | true).flatten(1).sum(dim=1).float()
    return torch.where(union > 0, intersection / union.clamp(min=1), 1.0)


def true_scenes(scenes: SceneParameters, reading: MatchReading, spec: CandidateSpec) -> SceneParameters:
    """``scenes`` at the read pose: object 0 turned to the read heading (relative to the camera's azimuth),
    the camera at the read elevation, the object in the dataset's box; camera and translation unchanged."""
    box = torch.tensor([float(s) for s in spec.scale])
    rotation = scenes.object_rotation_deg.clone()
    rotation[:, 0] = reading.heading_deg.to(rotation) + scenes.camera_azimuth_deg
    return scenes.replace(
        object_rotation_deg=rotation,
        camera_elevation_deg=reading.elevation_deg,
        object_scale=box.expand_as(scenes.object_scale),
    )


def true_renders(
    scenes: SceneParameters,
    reading: MatchReading,
    spec: CandidateSpec,
    resolution: int,
    batch_size: int = 8,
    desc: str | None = None,
) -> Rendered:
    """The dataset's object ray traced at the read poses (:func:`true_scenes`) in the colour the reader fit,
    with the candidates' lighting and supersampling: images in [-1, 1] and masks (coverage) in [0, 1]."""
    scenes = true_scenes(scenes.to("cpu"), reading, spec)
    classes = torch.zeros(scenes.batch_size, scenes.num_objects, dtype=torch.long)
    colours = reading.colour.float().clamp(0, 1)[:, None].expand(-1, scenes.num_objects, -1)
    parts = []
    starts = tqdm(range(0, scenes.batch_size, batch_size), desc=desc, unit="batch", leave=False, disable=not desc)
    for start in starts:
        part = slice(start, start + batch_size)
        scene = scenes.select(part)
        lighting, supersampling = spec.lighting, spec.supersampling
        out = render_synthetic(
            scene, classes[part], colours[part], [spec.class_name], resolution, lighting, supersampling
        )
        parts.append(Rendered(out.image * 2 - 1, out.mask.clamp(0, 1)))
    return Rendered(torch.cat([p.image for p in parts]), torch.cat([p.mask for p in parts]))


def resized_source(source: ImageSource, size: int) -> ImageSource:
    """``source`` brought to ``size`` px: images bicubic (antialiased, as the fidelity protocol upscales),
    masks bilinear (then thresholded like any mask)."""

    def render(scene: SceneParameters) -> Rendered:
        out = source(scene)
        if out.image.shape[-1] == size:
            return out
        image = resize_images((out.image + 1) / 2, size) * 2 - 1
        mask = F.interpolate(out.mask.float(), size=(size, size), mode="bilinear", align_corners=False)
        return Rendered(image, mask.clamp(0, 1))

    return render


@dataclass(frozen=True)
class SilhouetteScores:
    """Per-image silhouette agreement of B images with their matched true renders."""

    iou: Float[Tensor, " B"]
    boundary: BoundaryScore
    tolerance_px: float
    heading_deg: Float[Tensor, " B"]  # the read pose the true render was made at
    elevation_deg: Float[Tensor, " B"]

    @property
    def num_images(self) -> int:
        return self.iou.shape[0]

    @property
    def mean_iou(self) -> float:
        return float(self.iou.mean())

    @property
    def mean_f(self) -> float:
        return float(self.boundary.f_score.mean())

    @property
    def median_f(self) -> float:
        return float(self.boundary.f_score.quantile(0.5))

    def share_f_below(self, threshold: float = LOW_F_SCORE) -> float:
        return float((self.boundary.f_score < threshold).float().mean())


@dataclass(frozen=True)
class SilhouetteMeasurement:
    scores: SilhouetteScores
    rendered: Rendered  # the source's images and masks at the measured resolution
    truth: Rendered  # the true renders at the read poses


def score_masks(
    rendered: Rendered, truth: Rendered, reading: MatchReading, tolerance_px: float | int = 2.0
) -> SilhouetteScores:
    """IoU and boundary F-score of the masks of ``rendered`` against those of ``truth`` (both at 0.5)."""
    pred, true = rendered.mask[:, 0] >= MASK_THRESHOLD, truth.mask[:, 0] >= MASK_THRESHOLD
    return SilhouetteScores(
        iou=mask_iou(pred, true),
        boundary=boundary_f_score(pred, true, tolerance_px),
        tolerance_px=float(tolerance_px),
        heading_deg=reading.heading_deg,
        elevation_deg=reading.elevation_deg,
    )


def measure_silhouettes(
    source: ImageSource,
    scenes: SceneParameters,
    candidates: Candidates,
    resolution: int,
    tolerance_px: float | int = 2.0,
    batch_size: int = 8,
    desc: str | None = None,
) -> SilhouetteMeasurement:
    """Render ``scenes`` through ``source`` (images of ``resolution`` px), read each pose with render-and-match
    against ``candidates``, render the truth there and score the masks (progress bars when ``desc``)."""
    rendered = in_batches(source, scenes, batch_size, desc and f"{desc}: rendering")
    if tuple(rendered.image.shape[-2:]) != (resolution, resolution):
        raise ValueError(f"the source rendered {tuple(rendered.image.shape[-2:])} px images, not {resolution} px")
    read = match_reader(candidates, batch_size)
    bar = desc and f"{desc}: reading"
    starts = tqdm(range(0, scenes.batch_size, batch_size), desc=bar, unit="batch", leave=False, disable=not desc)
    parts = [read(rendered.image[s : s + batch_size], scenes.select(slice(s, s + batch_size))) for s in starts]
    reading = MatchReading(*(torch.cat([getattr(p, f) for p in parts]) for f in MatchReading.__dataclass_fields__))
    truth = true_renders(scenes, reading, candidates.spec, resolution, batch_size, desc and f"{desc}: truth")
    return SilhouetteMeasurement(score_masks(rendered, truth, reading, tolerance_px), rendered, truth)


def model_silhouettes(
    model: LoadedModel,
    scenes: SceneParameters,
    candidates: Candidates,
    resolution: int = 256,
    tolerance_px: float | int = 2.0,
    batch_size: int = 8,
    desc: str | None = None,
) -> SilhouetteMeasurement:
    """A loaded model's silhouettes on ``scenes`` at ``resolution`` px. A model that renders another size is
    resized first (:func:`resized_source`): a 64 px model scored at 256 px is the upscaled baseline."""
    if scenes.object_shape.shape[-1] != model.prior.z_dim:
        raise ValueError(
            f"scenes have codes of {scenes.object_shape.shape[-1]} dimensions, {model.path} draws {model.prior.z_dim}"
        )
    source = resized_source(generator_source(model.generator), resolution)
    return measure_silhouettes(source, scenes, candidates, resolution, tolerance_px, batch_size, desc)


def floor_silhouettes(
    dataset: SyntheticDataset,
    num_images: int,
    seed: int,
    candidates: Candidates,
    resolution: int = 256,
    tolerance_px: float | int = 2.0,
    batch_size: int = 8,
    desc: str | None = None,
) -> SilhouetteMeasurement:
    """The reader's floor: ``num_images`` true renders (poses, colours and codes from the dataset's prior,
    seed ``seed``) at ``resolution`` px through the same read-then-render path, against their own masks."""
    scenes = dataset.prior.sample(num_images, torch.Generator().manual_seed(seed))
    source = synthetic_source(dataset, resolution, candidates.spec.lighting, candidates.spec.supersampling)
    return measure_silhouettes(source, scenes, candidates, resolution, tolerance_px, batch_size, desc)
