"""Train the scene evaluator on freshly rendered scenes of a synthetic set's prior, deterministically.

Why render rather than read the dataset's files: the per-pixel targets need each object's own coverage
(which object a pixel shows, for the offsets, the instance masks and whether an object is visible at all),
and the dataset stores only the union mask; the count figure needs scenes of exactly 1 to 5 objects, and
the CLEVR-like set has 2 to 5. Training scenes are drawn as the dataset draws them (truth.py) with
the prior's ``min_objects`` lowered to 1, from a seed of their own; the scenes after them in that seed's
sequence (never trained on) choose the heatmap's peak threshold; the held-out scenes, with exactly 1 to
``max_count`` objects, come from another seed and only measure.
Same source, settings and seed: same weights and figures (on the same machine and thread count).
Axis legend: B scenes, H W pixels.
"""

import dataclasses
import math
import time
from dataclasses import asdict, dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from torch.nn import functional as F

from giraffehd.evaluation.scenes.evaluator import SceneEvaluator, SceneHeads, decode_scenes, read_scenes
from giraffehd.evaluation.scenes.evaluator_scores import score_readings
from giraffehd.evaluation.scenes.truth import (
    SceneSource,
    SceneTargets,
    SceneTruth,
    draw_scenes,
    exact_counts,
    mirrored,
    render_truth,
    scene_targets,
    separated_draws,
)
from giraffehd.networks.readers import blur_and_noise, epochs_of, fit, parameter_count, progress_bar, warmup_cosine

PEAK_THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)  # the candidates the validation scenes choose from


@dataclass(frozen=True)
class SceneEvaluatorTraining:
    """Settings of one scene evaluator training (errors name the key)."""

    resolution: int = 64
    channels: tuple[int, ...] = (16, 32, 64, 64)
    num_train: int = 8000  # distinct training scenes (each also seen mirrored)
    epochs: int = 10
    batch_size: int = 32
    lr: float | int = 4e-3
    heldout_per_count: int = 200  # held-out scenes with exactly c objects, for each c in 1..max_count
    max_count: int = 5
    min_visible_pixels: float | int = 8.0
    heatmap_sigma: float | int = 1.0  # pixels of the training resolution
    separation_px: float | int = 10.0  # second held-out set: centres this far apart (the scene scorecard's count)
    validation_per_count: int = 40  # scenes of each count 1..max_count that choose the peak threshold
    augment: bool = True  # mirror images, and mild blur and noise so that softer generated images read like renders
    seed: int = 0  # weights, batch order and augmentation
    scene_seed: int = 1  # training scenes (the dataset's own seed must differ)
    heldout_seed: int = 2  # held-out scenes

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        names = ("num_train", "epochs", "batch_size", "heldout_per_count", "validation_per_count", "max_count")
        for name in names:
            if getattr(self, name) < 1:
                raise ValueError(f"scene_evaluator_training.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lr", "heatmap_sigma", "min_visible_pixels"):
            if not getattr(self, name) > 0:
                raise ValueError(f"scene_evaluator_training.{name} must be positive, got {getattr(self, name)}")
        if self.separation_px < 0:
            raise ValueError(f"scene_evaluator_training.separation_px must not be negative, got {self.separation_px}")
        if self.scene_seed == self.heldout_seed:
            raise ValueError(f"scene_evaluator_training.heldout_seed must differ from scene_seed ({self.scene_seed})")


def centre_focal_loss(logits: Float[Tensor, "B 1 H W"], target: Float[Tensor, "B 1 H W"]) -> Tensor:
    """CenterNet's penalty-reduced focal loss, per object: negatives near a centre are forgiven."""
    positive = target >= 1
    probability = logits.sigmoid()
    positive_loss = -((1 - probability) ** 2 * F.logsigmoid(logits))[positive].sum()
    negative_loss = -((1 - target) ** 4 * probability**2 * F.logsigmoid(-logits))[~positive].sum()
    return (positive_loss + negative_loss) / positive.sum().clamp(min=1)


def scene_loss(heads: SceneHeads, targets: SceneTargets) -> Tensor:
    """Heatmap focal loss + label cross-entropy over all pixels + class and colour cross-entropy over the
    foreground + offset L1 (pixels, foreground). The foreground-only class term keeps the objects' tenth of
    the pixels from being drowned by the backdrop, which the all-pixel term alone lets happen."""
    foreground = targets.foreground[:, None].float()
    offset_l1 = ((heads.offsets - targets.offsets).abs() * foreground).sum() / foreground.sum().clamp(min=1)
    loss = centre_focal_loss(heads.centre_logits, targets.heatmap) + F.cross_entropy(heads.class_logits, targets.labels)
    if targets.foreground.any():
        object_class = torch.where(targets.foreground, targets.labels - 1, -1)
        loss = loss + F.cross_entropy(heads.class_logits[:, 1:], object_class, ignore_index=-1)
        loss = loss + F.cross_entropy(heads.colour_logits, targets.colours, ignore_index=-1)
    return loss + 0.1 * offset_l1


def build_scene_evaluator(source: SceneSource, settings: SceneEvaluatorTraining) -> SceneEvaluator:
    """A freshly initialised scene evaluator (initial weights from ``settings.seed``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        return SceneEvaluator(
            source.spec.classes,
            list(source.spec.palette),
            settings.resolution,
            settings.channels,
        )


def score_truth(evaluator: SceneEvaluator, truth: SceneTruth, max_count: int) -> dict:
    """The evaluator's figures on rendered scenes (evaluator_scores.py)."""
    readings = read_scenes(evaluator, truth.images.float() / 255)
    return score_readings(
        readings, truth.centres, truth.class_index, truth.colour_index, truth.visible, truth.owner, max_count
    )


def choose_peak_threshold(evaluator: SceneEvaluator, validation: SceneTruth) -> tuple[float, dict[str, float]]:
    """The candidate peak threshold under which the most validation scenes are counted right (the lowest of
    equals), and each candidate's count accuracy."""
    evaluator.eval()
    with torch.no_grad():
        heads = evaluator(validation.images.float() / 255)
    truth = validation.visible.sum(dim=1)
    size = (validation.images.shape[-2], validation.images.shape[-1])
    accuracy = {}
    for threshold in PEAK_THRESHOLDS:
        counts = torch.tensor([reading.count for reading in decode_scenes(heads, size, threshold)])
        accuracy[str(threshold)] = (counts == truth).float().mean().item()
    best = max(PEAK_THRESHOLDS, key=lambda t: (accuracy[str(t)], -t))
    return best, accuracy


def train_scene_evaluator(
    source: SceneSource, settings: SceneEvaluatorTraining, progress: bool = True
) -> tuple[SceneEvaluator, dict]:
    """Train on ``settings.num_train`` rendered scenes; returns the evaluator (eval mode, its report set)
    and the report: held-out figures by true visible count (evaluator_scores.py) and the settings."""
    start_time = time.perf_counter()
    desc = (lambda text: text) if progress else (lambda text: None)
    training_source = dataclasses.replace(source, prior=dataclasses.replace(source.prior, min_objects=1))
    res, visible_pixels = settings.resolution, settings.min_visible_pixels
    train = render_truth(
        training_source,
        draw_scenes(training_source, settings.scene_seed, settings.num_train),
        res,
        visible_pixels,
        desc=desc("rendering training scenes"),
    )
    validation_counts = exact_counts(settings.validation_per_count, settings.max_count)
    validation = render_truth(
        training_source,
        draw_scenes(
            training_source, settings.scene_seed, len(validation_counts), validation_counts, settings.num_train
        ),
        res,
        visible_pixels,
        desc=desc("rendering validation scenes"),
    )
    counts = exact_counts(settings.heldout_per_count, settings.max_count)
    heldout = render_truth(
        source,
        draw_scenes(source, settings.heldout_seed, len(counts), counts),
        res,
        visible_pixels,
        desc=desc("rendering held-out scenes"),
    )
    separated = render_truth(
        source,
        separated_draws(
            source,
            settings.heldout_seed,
            settings.heldout_per_count,
            settings.max_count,
            res,
            settings.separation_px,
            first=len(counts),
        ),
        res,
        visible_pixels,
        desc=desc("rendering separated held-out scenes"),
    )
    evaluator = build_scene_evaluator(source, settings)
    rng = torch.Generator().manual_seed(settings.seed)
    total_steps = settings.epochs * math.ceil(settings.num_train / settings.batch_size)

    def loss_of(indices: Tensor) -> Tensor:
        batch = train.select(indices)
        if settings.augment:
            batch = mirrored(batch, torch.rand(len(batch.images), generator=rng) < 0.5)
        images = batch.images.float() / 255
        if settings.augment:
            images = (blur_and_noise(images * 2 - 1, rng) + 1) / 2
        return scene_loss(evaluator(images), scene_targets(batch, settings.heatmap_sigma))

    with progress_bar(total_steps, "training scene evaluator", progress) as on_step:
        batches = epochs_of(settings.num_train, settings.batch_size, settings.epochs, rng)
        warmup = max(1, min(100, total_steps // 10))
        fit(evaluator, batches, loss_of, settings.lr, warmup_cosine(total_steps, warmup), on_step)
    threshold, validation_accuracy = choose_peak_threshold(evaluator, validation)
    evaluator.set_peak_threshold(threshold)
    report = {
        "heldout": score_truth(evaluator, heldout, settings.max_count),
        "heldout_separated": score_truth(evaluator, separated, settings.max_count),
        "training": {
            **asdict(settings),
            "channels": list(settings.channels),
            "num_heldout": len(counts),
            "num_heldout_separated": len(separated.images),
            "peak_threshold": threshold,
            "validation_count_accuracy": validation_accuracy,
            "steps": total_steps,
            "seconds": round(time.perf_counter() - start_time, 1),
            "threads": torch.get_num_threads(),
            "parameters": parameter_count(evaluator),
        },
    }
    evaluator.report = report
    return evaluator, report
