"""The scene scorecard: one registry entry per metric, and the typed card ``giraffehd-eval-scenes`` writes.

Each entry of ``SCENE_METRICS`` says, in one place, what the metric turns (knobs from ``knobs.py``, edits
from ``controls.EDITS``, or nothing), how it is measured on one image source (the model, or the dataset's
renderer for the floor), and the table rows it writes from the two typed results, with their targets.
Adding a metric is one entry here (plus its measure and its test); the command, the JSON and the table
follow from the registry. FID/KID is not in it: it scores the model against the data, not a source
against its floor, so the card holds it apart.

Axis legend: none (records only).
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from giraffehd.evaluation.labels import SyntheticDataset
from giraffehd.evaluation.quality.fid import QualityScores
from giraffehd.evaluation.scenes.controls import (
    EDITS,
    ColourControl,
    CountAccuracy,
    SceneProtocol,
    SceneReader,
    TranslationControl,
    colour_control,
    count_accuracy,
    translation_control,
)
from giraffehd.evaluation.scenes.isolation import Isolation, isolation
from giraffehd.evaluation.scenes.shapes import ShapeShares, shape_shares
from giraffehd.evaluation.sources import ImageSource
from giraffehd.scene import SceneParameters


@dataclass(frozen=True)
class Measuring:
    """What every scene metric is measured with: one image source, the reader and the protocol's scenes."""

    source: ImageSource
    reader: SceneReader
    scenes: SceneParameters  # the protocol's base scenes, every slot present and separated
    x_range: tuple[float, float]  # the prior's object x range, scene units
    protocol: SceneProtocol
    resolution: int  # the model's image side, pixels
    dataset: SyntheticDataset


@dataclass(frozen=True)
class SceneMetric:
    name: str  # its key in ``metrics=[...]`` and in scorecard.json
    turns: tuple[str, ...]  # the knobs (knobs.py) or edits (controls.EDITS) it turns
    measure: Callable[[Measuring], Any]  # one source's typed result
    # (model's result, floor's result, every floor result by name) -> table lines; a row may judge against
    # another metric's floor (isolation's shift against the floor's position error)
    rows: Callable[[Any, Any, dict[str, Any]], list[str]]


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def line(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def count_rows(model: CountAccuracy, floor: CountAccuracy, _floors: dict[str, Any]) -> list[str]:
    rows = []
    for k, value in model.per_count.items():
        k = int(k)
        what, target = (
            ("the background alone read as empty", ">= 97.5%")
            if k == 0
            else (f"count read right, {k} object{'s' if k > 1 else ''}", ">= 95%")
        )
        rows.append(line(what, percent(value), percent(floor.per_count[k]), percent(model.chance), target))
    return rows


def translation_rows(model: TranslationControl, floor: TranslationControl, _floors: dict[str, Any]) -> list[str]:
    return [
        line(
            "translation control error (x sweep), px",
            f"{model.error_px:.2f}",
            f"{floor.error_px:.2f}",
            f"{model.chance_px:.2f}",
            f"<= {2 * floor.error_px:.2f} (2x floor)",
        )
    ]


def isolation_rows(model: list[Isolation], floor: list[Isolation], floors: dict[str, Any]) -> list[str]:
    # The shift of the objects not edited is judged against the floor's own position error (the reader
    # cannot place an object closer than that): the translation metric's floor, when it was measured.
    target = f"<= {floors['translation'].error_px:.2f} (floor's position error)" if "translation" in floors else ""
    out = []
    for mine, theirs in zip(model, floor, strict=True):
        out.append(
            line(
                f"{mine.edit}: other pixels changed",
                percent(mine.other_pixels_changed),
                percent(theirs.other_pixels_changed),
                percent(mine.chance_pixels),
                "<= 2%",
            )
        )
        out.append(
            line(
                f"{mine.edit}: other objects' read shift, px",
                f"{mine.other_shift_px:.2f}",
                f"{theirs.other_shift_px:.2f}",
                f"{mine.chance_shift_px:.2f}",
                target,
            )
        )
    return out


def colour_rows(model: ColourControl, floor: ColourControl, _floors: dict[str, Any]) -> list[str]:
    return [
        line(
            "recoloured object reads as its partner's colour",
            percent(model.swapped_reads_target),
            percent(floor.swapped_reads_target),
            percent(model.chance),
            ">= 90%",
        ),
        line(
            "other objects keep their colour",
            percent(model.others_keep),
            percent(floor.others_keep),
            percent(model.chance),
            ">= 98%",
        ),
    ]


def shapes_rows(model: ShapeShares, floor: ShapeShares, _floors: dict[str, Any]) -> list[str]:
    data = ", ".join(f"{name} {percent(share)}" for name, share in model.data_shares.items())
    read = ", ".join(f"{name} {percent(share)}" for name, share in model.shares.items())
    return [
        line(
            f"shapes read ({read}) against the data's ({data}), total variation",
            f"{model.total_variation:.3f}",
            f"{floor.total_variation:.3f}",
            f"{model.chance:.3f}",
            "<= 0.10",
        )
    ]


SCENE_METRICS: dict[str, SceneMetric] = {
    metric.name: metric
    for metric in (
        SceneMetric(
            "count",
            ("remove",),  # slots taken out of the scene, down to none
            lambda m: count_accuracy(m.source, m.reader, m.scenes, m.protocol.batch_size),
            count_rows,
        ),
        SceneMetric(
            "translation",
            ("translation_x",),
            lambda m: translation_control(m.source, m.reader, m.scenes, m.x_range, m.protocol, m.resolution),
            translation_rows,
        ),
        SceneMetric(
            "isolation",
            EDITS,
            lambda m: isolation(m.source, m.reader, m.scenes, m.x_range, m.protocol, m.resolution),
            isolation_rows,
        ),
        SceneMetric(
            "colour",
            ("recolour",),
            lambda m: colour_control(m.source, m.reader, m.scenes, m.protocol, m.resolution, len(m.dataset.palette)),
            colour_rows,
        ),
        SceneMetric(
            "shapes",
            (),
            lambda m: shape_shares(m.source, m.reader, m.scenes, m.protocol.batch_size, m.dataset),
            shapes_rows,
        ),
    )
}
QUALITY = "fid"  # FID/KID under the project's protocol: the card's ``quality``, outside the registry
METRIC_NAMES = (*SCENE_METRICS, QUALITY)


def check_metrics(metrics: list[str]) -> None:
    """One line naming the first unknown metric, or the empty list."""
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"metrics: unknown {unknown[0]!r}; known: {', '.join(METRIC_NAMES)}")
    if not metrics:
        raise ValueError(f"metrics is empty: name at least one of {', '.join(METRIC_NAMES)}")


def measure_all(measuring: Measuring, metrics: list[str]) -> dict[str, Any]:
    """Every chosen registry metric on one source, in the registry's order: name -> typed result."""
    return {name: metric.measure(measuring) for name, metric in SCENE_METRICS.items() if name in metrics}


@dataclass(frozen=True)
class SceneScorecard:
    """What ``giraffehd-eval-scenes`` writes: the header facts, each metric's typed results on the model and
    on the floor, and FID/KID when asked."""

    checkpoint: str
    step: int
    evaluator: str
    dataset: str
    protocol: SceneProtocol
    evaluator_heldout: dict | None  # the evaluator's own held-out scores, as it recorded them
    model: dict[str, Any]  # metric name -> typed result
    floor: dict[str, Any]
    quality: QualityScores | None = None

    def to_record(self) -> dict:
        """The JSON-ready card. The keys are those users have read since the first scorecard (``fid`` for
        the quality figures)."""
        record = {
            "checkpoint": self.checkpoint,
            "step": self.step,
            "evaluator": self.evaluator,
            "dataset": self.dataset,
            "protocol": asdict(self.protocol),
            "evaluator_heldout": self.evaluator_heldout,
            "model": {name: _record(result) for name, result in self.model.items()},
            "floor": {name: _record(result) for name, result in self.floor.items()},
        }
        if self.quality is not None:
            record["fid"] = asdict(self.quality)
        return record

    def to_markdown(self) -> str:
        """The table: one or more rows per metric (model, floor, chance, target), then FID/KID."""
        rows = ["| measure | model | floor (dataset renderer) | chance | target |", "|---|---|---|---|---|"]
        for name, metric in SCENE_METRICS.items():
            if name in self.model:
                rows += metric.rows(self.model[name], self.floor[name], self.floor)
        if self.quality is not None:
            q = self.quality
            floor_text = "" if q.floor_fid is None else f"{q.floor_fid:.2f} / {q.floor_kid:.4f}"
            rows.append(
                f"| FID / KID ({q.num_samples} samples, {q.num_reference} reference) "
                f"| {q.fid:.2f} / {q.kid:.4f} +- {q.kid_std:.4f} | {floor_text} | | |"
            )
        p = self.protocol
        header = (
            f"Checkpoint {self.checkpoint} (step {self.step}); scene evaluator {self.evaluator}; "
            f"{p.num_scenes} base scenes, seed {p.seed}, centres at least {p.min_separation_px} px apart."
        )
        return header + "\n\n" + "\n".join(rows) + "\n"


def _record(result: Any) -> Any:
    return [asdict(r) for r in result] if isinstance(result, list) else asdict(result)
