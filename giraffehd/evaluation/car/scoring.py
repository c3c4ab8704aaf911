"""Measure the scorecard's rows: each figure of a protocol for the model, its floor and its chance level.

The floor is the same protocol on the dataset's own renderer; the degraded floor, on those renders
blurred, shifted and resized as a generator's images are (degradations.py); the chance level is the same
protocol on a source that ignores the knob (scorecard_rows.py says which source for each figure). The knob
sweeps are read by the evaluator and, for rotation and elevation, optionally by render-and-match too
(render_match.py): a second row each.
"""

from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm

from giraffehd.evaluation.alignment import ControlError
from giraffehd.evaluation.car.controls import (
    ImageReader,
    background_stability,
    evaluator_reader,
    registry_knob,
    sample_quality,
    sweep_range,
    sweep_values,
    swept_error,
)
from giraffehd.evaluation.car.evaluator import Evaluator
from giraffehd.evaluation.car.protocol import Protocol
from giraffehd.evaluation.car.scorecard_rows import (
    BackgroundRow,
    ColourRow,
    ControlRow,
    FidRow,
    MaskRow,
    Row,
    UnmeasuredRow,
    control_label,
)
from giraffehd.evaluation.degradations import degraded_source
from giraffehd.evaluation.sources import ImageSource, memoised
from giraffehd.knobs import qualified_name
from giraffehd.scene import ScenePrior

ABSOLUTE_KNOBS = ("elevation",)  # the data fixes their meaning: the headline is the one-global-offset error
RENDER_MATCH_KNOBS = ("rotation", "elevation")  # what render-and-match reads


@dataclass(frozen=True)
class ScoredSource:
    source: ImageSource
    prior: ScenePrior


def control_row(
    reader: ImageReader,
    model: ScoredSource,
    floor: ScoredSource,
    protocol: Protocol,
    knob: str,
    bar: tqdm,
    degraded_floor: ScoredSource | None = None,
    reader_name: str = "evaluator",
) -> ControlRow | UnmeasuredRow:
    """One knob swept on the model, the floor (clean, and degraded when given) and the model with the knob
    held (chance), read by ``reader``."""
    span = sweep_range(model.prior, knob, protocol.azimuth_if_fixed)
    registered = registry_knob(model.prior, knob)
    if span is None:
        return UnmeasuredRow(
            qualified_name(knob), control_label(knob), "not applicable: the training prior fixes this knob"
        )
    values = sweep_values(*span, protocol.sweep_steps, angular=registered.periodic)
    seeds = list(range(protocol.seed, protocol.seed + protocol.num_seeds))

    def error(role: str, scored: ScoredSource, hold: bool) -> ControlError:
        bar.set_description(f"{knob} ({role}, {reader_name})")
        return swept_error(reader, scored.source, scored.prior, knob, values, seeds, protocol.batch_size, hold)

    azimuth, note = model.prior.azimuth_deg, None
    if knob == "azimuth" and azimuth.high == azimuth.low:
        note = f"outside the training range (fixed at {azimuth.low:g}); read through the heading"
    return ControlRow(
        knob=knob,
        unit="deg" if registered.in_degrees else "scene units",
        low=float(span[0]),
        high=float(span[1]),
        steps=len(values),
        model=error("model", model, False),
        floor=error("floor", floor, False),
        chance=error("chance", model, True),
        note=note,
        floor_degraded=None if degraded_floor is None else error("floor, degraded", degraded_floor, False),
        reader=reader_name,
        global_offset_headline=knob in ABSOLUTE_KNOBS,
    )


def background_row(model: ScoredSource, floor: ScoredSource, protocol: Protocol) -> BackgroundRow:
    """Background stability of the model, the floor, and the model with its background resampled too."""
    n, seed, batch = protocol.num_samples, protocol.seed, protocol.batch_size
    threshold = protocol.background_mask_threshold
    own = background_stability(model.source, model.prior, n, seed, batch, False, threshold)
    real = background_stability(floor.source, floor.prior, n, seed, batch, False, threshold)
    chance = background_stability(model.source, model.prior, n, seed, batch, True, threshold)
    return BackgroundRow(
        model=own.changed,
        floor=real.changed,
        chance=chance.changed,
        model_background_share=own.background_share,
        floor_background_share=real.background_share,
        chance_background_share=chance.background_share,
    )


def mask_and_colour_rows(
    evaluator: Evaluator,
    model: ScoredSource,
    floor: ScoredSource,
    protocol: Protocol,
    degraded_floor: ScoredSource | None = None,
) -> list[MaskRow | ColourRow]:
    """Mask IoU and colour distribution, from one pass over random scenes of the model and of the floor
    (and the mask IoU of the degraded floor, when given)."""
    n, seed, batch = protocol.num_samples, protocol.seed, protocol.batch_size
    own = sample_quality(evaluator, model.source, model.prior, n, seed, batch)
    real = sample_quality(evaluator, floor.source, floor.prior, n, seed, batch)
    rows: list[MaskRow | ColourRow] = []
    if "mask" in protocol.metrics:
        degraded = None
        if degraded_floor is not None:
            degraded = sample_quality(evaluator, degraded_floor.source, degraded_floor.prior, n, seed, batch).mask_iou
        rows.append(
            MaskRow(model=own.mask_iou, floor=real.mask_iou, chance=own.mask_iou_shuffled, floor_degraded=degraded)
        )
    if "colour" in protocol.metrics:
        uniform = 1 / len(own.colour_fractions)

        def total_variation(fractions: list[float]) -> float:
            return 0.5 * sum(abs(f - uniform) for f in fractions)

        rows.append(
            ColourRow(
                model=total_variation(own.colour_fractions),
                floor=total_variation(real.colour_fractions),
                chance=1 - uniform,  # every sample one colour
                fractions=dict(zip(evaluator.colour_names, own.colour_fractions, strict=True)),
            )
        )
    return rows


def score(
    evaluator: Evaluator,
    model: ScoredSource,
    floor: ScoredSource,
    protocol: Protocol,
    quality: Callable[[], FidRow | UnmeasuredRow] | None = None,
    render_match: ImageReader | None = None,
) -> tuple[Row, ...]:
    """The rows of ``protocol.metrics`` for ``model``, with floors and chance levels, in the table's order.

    ``quality``: called for the ``fid`` metric (the CLI wires giraffehd/evaluation/quality/fid.py); None: the row
    says "not available". ``render_match``: a second reader (render_match.py) for the rotation and
    elevation sweeps, a row each below the evaluator's. Where ``protocol.degradation`` is set, the knob
    sweeps and the mask IoU are measured on the floor's renders degraded too (the degraded floor).
    """

    def sharing(scored: ScoredSource) -> ScoredSource:
        # Figures that read the same renders again (degraded, or by a second reader) render them once; a
        # fresh store per figure keeps at most one figure's images in memory.
        return ScoredSource(memoised(scored.source), scored.prior)

    def degraded(scored: ScoredSource) -> ScoredSource | None:
        if protocol.degradation is None:
            return None
        return ScoredSource(degraded_source(scored.source, protocol.degradation, protocol.seed), scored.prior)

    knobs = protocol.swept_knobs()
    matched = [knob for knob in knobs if knob in RENDER_MATCH_KNOBS] if render_match is not None else []
    has_samples = "mask" in protocol.metrics or "colour" in protocol.metrics  # one pass measures both
    num_steps = len(knobs) + len(matched) + has_samples + sum(m in protocol.metrics for m in ("background", "fid"))
    rows: list[Row] = []
    with tqdm(total=num_steps, desc="scorecard", unit="figure") as bar:
        for knob in knobs:
            own, real = (sharing(model), sharing(floor)) if knob in matched else (model, sharing(floor))
            rows.append(control_row(evaluator_reader(evaluator), own, real, protocol, knob, bar, degraded(real)))
            bar.update(1)
            if knob in matched:
                rows.append(
                    control_row(render_match, own, real, protocol, knob, bar, degraded(real), "render-and-match")
                )
                bar.update(1)
        if "background" in protocol.metrics:
            bar.set_description("background stability")
            rows.append(background_row(model, floor, protocol))
            bar.update(1)
        if has_samples:
            bar.set_description("mask and colour")
            real = sharing(floor)
            rows.extend(mask_and_colour_rows(evaluator, model, real, protocol, degraded(real)))
            bar.update(1)
        if "fid" in protocol.metrics:
            bar.set_description("FID/KID")
            rows.append(quality() if quality is not None else UnmeasuredRow("fid", "FID / KID", "not available"))
            bar.update(1)
    return tuple(rows)
