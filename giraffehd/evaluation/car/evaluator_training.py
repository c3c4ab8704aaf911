"""Train the evaluator on a synthetic dataset's ground truth, deterministically, and measure it.

The last ``heldout_fraction`` of the images (by index; images are independent draws) is held out and
never trained on; the report gives each head's error on it. Same dataset, settings and seed: same
weights and figures (on the same machine and thread count). Axis legend: B images, H W pixels.
"""

import math
import time
from dataclasses import asdict, dataclass

import torch
from jaxtyping import Float, UInt8
from torch import Tensor
from torch.nn import functional as F

from giraffehd.evaluation.car.evaluator import Evaluator, EvaluatorOutput, Reading
from giraffehd.evaluation.labels import SyntheticDataset, SyntheticLabels, label_tensors, load_pixels
from giraffehd.networks.readers import blur_and_noise, epochs_of, fit, parameter_count, progress_bar, warmup_cosine


@dataclass(frozen=True)
class EvaluatorTraining:
    """Settings of one evaluator training (conf/eval.yaml, ``evaluator_training``)."""

    resolution: int = 32
    channels: tuple[int, ...] = (16, 32, 64, 128)
    hidden_dim: int = 128
    epochs: int = 8
    batch_size: int = 64
    lr: float | int = 2e-3
    heldout_fraction: float | int = 0.1
    max_images: int | None = None  # use only the first max_images images (None: all)
    augment: bool = True  # mild blur and noise, so that softer generated images read like renders
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if not 0 < self.heldout_fraction < 1:
            raise ValueError(f"evaluator_training.heldout_fraction must be in (0, 1), got {self.heldout_fraction}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"evaluator_training.{name} must be at least 1, got {getattr(self, name)}")


def split(num_images: int, heldout_fraction: float) -> tuple[list[int], list[int]]:
    """(training indices, held-out indices): the held-out images are the last ones."""
    num_heldout = max(1, round(num_images * heldout_fraction))
    if num_heldout >= num_images:
        raise ValueError(f"{num_images} images are too few to hold out {heldout_fraction:.0%} and train on the rest")
    return list(range(num_images - num_heldout)), list(range(num_images - num_heldout, num_images))


def to_float(images: UInt8[Tensor, "B C H W"]) -> Float[Tensor, "B C H W"]:
    """uint8 images to [-1, 1]."""
    return images.float() / 127.5 - 1


def _normalized(values: Tensor, centre: Tensor, half: Tensor) -> Tensor:
    return torch.where(half > 0, (values - centre) / half.clamp(min=1e-8), torch.zeros_like(values))


def _cos_sin(degrees: Tensor) -> Tensor:
    radians = torch.deg2rad(degrees)
    return torch.stack([radians.cos(), radians.sin()], dim=1)


def evaluator_loss(
    evaluator: Evaluator, out: EvaluatorOutput, labels: SyntheticLabels, masks: Float[Tensor, "B 1 H W"]
) -> Tensor:
    """Sum of the heads' losses: MSE for poses (unit-free), cross-entropy for class and colour, BCE for the mask."""
    mask_target = evaluator.resize(masks)
    return (
        F.mse_loss(out.heading, _cos_sin(labels.heading_deg))
        + F.mse_loss(
            out.elevation, _normalized(labels.elevation_deg, evaluator.elevation_centre, evaluator.elevation_half)
        )
        + F.mse_loss(out.azimuth, _cos_sin(labels.azimuth_deg))
        + F.mse_loss(
            out.translation, _normalized(labels.translation, evaluator.translation_centre, evaluator.translation_half)
        )
        + F.cross_entropy(out.class_logits, labels.class_index)
        + F.cross_entropy(out.colour_logits, labels.colour_index)
        + F.binary_cross_entropy_with_logits(out.mask_logits, mask_target)
    )


def angle_difference(a: Tensor, b: Tensor) -> Tensor:
    """a - b wrapped to [-180, 180) degrees."""
    return torch.remainder(a - b + 180.0, 360.0) - 180.0


def mask_iou(a: Tensor, b: Tensor) -> Float[Tensor, " B"]:
    """Per-image IoU of two boolean masks (B, 1, H, W); 1 where both are empty."""
    intersection = (a & b).flatten(1).sum(dim=1).float()
    union = (a | b).flatten(1).sum(dim=1).float()
    return torch.where(union > 0, intersection / union.clamp(min=1), torch.ones_like(union))


def read_all(evaluator: Evaluator, images: Float[Tensor, "B 3 H W"], batch_size: int = 256) -> Reading:
    """The evaluator's reading of many images, in batches."""
    parts = [evaluator.read(images[i : i + batch_size]) for i in range(0, images.shape[0], batch_size)]
    return Reading(*(torch.cat([getattr(p, f) for p in parts]) for f in Reading.__dataclass_fields__))


def reading_errors(
    evaluator: Evaluator, reading: Reading, labels: SyntheticLabels, masks: UInt8[Tensor, "B 1 H W"]
) -> dict:
    """Per-head errors of a reading against ground truth (degrees, scene units, accuracies, IoU)."""
    heading = angle_difference(reading.heading_deg, labels.heading_deg).abs()
    varying = evaluator.translation_half > 0
    translation = (reading.translation - labels.translation).abs().mean(dim=0)
    truth = evaluator.resize(masks.float() / 255) > 0.5
    return {
        "heading_mean_deg": heading.mean().item(),
        "heading_median_deg": heading.median().item(),
        "elevation_mean_deg": (reading.elevation_deg - labels.elevation_deg).abs().mean().item(),
        "azimuth_mean_deg": angle_difference(reading.azimuth_deg, labels.azimuth_deg).abs().mean().item(),
        "translation_mean": translation[varying].mean().item() if varying.any() else 0.0,
        "translation_mean_per_axis": translation.tolist(),
        "class_accuracy": (reading.class_index == labels.class_index).float().mean().item(),
        "colour_accuracy": (reading.colour_index == labels.colour_index).float().mean().item(),
        "mask_iou": mask_iou(reading.mask > 0.5, truth).mean().item(),
    }


def fixed_targets(dataset: SyntheticDataset) -> list[str]:
    """The targets the dataset never varies (their heads learn a constant; their errors mean nothing)."""
    prior = dataset.prior
    ranges = {"azimuth": prior.azimuth_deg, "elevation": prior.elevation_deg}
    ranges.update({f"translation_{a}": r for a, r in zip("xyz", prior.translation, strict=True)})
    return [name for name, r in ranges.items() if r.high == r.low]


def build_evaluator(dataset: SyntheticDataset, settings: EvaluatorTraining) -> Evaluator:
    """A freshly initialised evaluator for ``dataset`` (initial weights from ``settings.seed``)."""
    prior = dataset.prior
    translation = [[r.low, r.high] for r in prior.translation]
    azimuth = prior.azimuth_deg
    if azimuth.high > azimuth.low:  # the ground-frame translation of a turning camera spans the horizontal disc
        reach = max(max(abs(v) for v in translation[0]), max(abs(v) for v in translation[2]))
        translation[0] = translation[2] = [-reach, reach]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        return Evaluator(
            resolution=settings.resolution,
            class_names=dataset.classes,
            colour_names=list(dataset.palette),
            elevation_range=[prior.elevation_deg.low, prior.elevation_deg.high],
            translation_ranges=translation,
            channels=settings.channels,
            hidden_dim=settings.hidden_dim,
        )


def train_evaluator(
    dataset: SyntheticDataset, settings: EvaluatorTraining, progress: bool = True
) -> tuple[Evaluator, dict]:
    """Train an evaluator on ``dataset``; returns it (eval mode) and its report (held-out errors, settings)."""
    start = time.perf_counter()
    count = len(dataset.records) if settings.max_images is None else min(settings.max_images, len(dataset.records))
    train_indices, heldout_indices = split(count, settings.heldout_fraction)
    images, masks = load_pixels(dataset, list(range(count)), progress)
    labels = label_tensors(dataset, list(range(count)))
    evaluator = build_evaluator(dataset, settings)
    rng = torch.Generator().manual_seed(settings.seed)
    num_train = len(train_indices)
    total_steps = settings.epochs * math.ceil(num_train / settings.batch_size)

    def loss_of(batch: Tensor) -> Tensor:
        x = to_float(images[batch])
        if settings.augment:
            x = blur_and_noise(x, rng)
        batch_labels = SyntheticLabels(*(getattr(labels, f)[batch] for f in SyntheticLabels.__dataclass_fields__))
        return evaluator_loss(evaluator, evaluator(x), batch_labels, masks[batch].float() / 255)

    with progress_bar(total_steps, "training evaluator", progress) as on_step:
        batches = epochs_of(num_train, settings.batch_size, settings.epochs, rng)
        fit(evaluator, batches, loss_of, settings.lr, warmup_cosine(total_steps, 100), on_step)
    held = torch.tensor(heldout_indices)
    heldout_labels = SyntheticLabels(*(getattr(labels, f)[held] for f in SyntheticLabels.__dataclass_fields__))
    reading = read_all(evaluator, to_float(images[held]))
    report = {
        "heldout": reading_errors(evaluator, reading, heldout_labels, masks[held]),
        "training": {
            **asdict(settings),
            "channels": list(settings.channels),
            "num_train": num_train,
            "num_heldout": len(heldout_indices),
            "steps": total_steps,
            "seconds": round(time.perf_counter() - start, 1),
            "threads": torch.get_num_threads(),
            "parameters": parameter_count(evaluator),
        },
        "dataset": {
            "path": str(dataset.root),
            "resolution": dataset.resolution,
            "num_images": len(dataset.records),
            "fixed": fixed_targets(dataset),
        },
    }
    return evaluator, report
