"""The scorecard: each controllability figure beside its floor and its chance level, as JSON and Markdown.

- model: the figure of the generator under test;
- floor: the same protocol on the dataset's own renderer (real images with known knobs), i.e. the
  error of the evaluator itself; a perfect generator scores about this;
- chance: the same protocol on a source that ignores the knob (the generator with the knob held at
  each seed's base value; for background stability, the background codes resampled too; for mask IoU,
  each mask paired with the evaluator's mask of another image).
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from giraffehd.atomic import write_atomically
from giraffehd.evaluation.controls import (
    background_stability,
    control_error,
    sample_quality,
    sweep_range,
    sweep_values,
)
from giraffehd.evaluation.evaluator import Evaluator
from giraffehd.evaluation.sources import ImageSource
from giraffehd.scene import ScenePrior

CONTROL_METRICS = {  # metric name: knobs it sweeps
    "rotation": ("object_rotation",),
    "elevation": ("camera_elevation",),
    "azimuth": ("camera_azimuth",),
    "translation": ("object_translation_x", "object_translation_y", "object_translation_z"),
}
METRICS = (*CONTROL_METRICS, "background", "mask", "colour", "fid")
_UNITS = {"object_rotation": "deg", "camera_elevation": "deg", "camera_azimuth": "deg"}


@dataclass(frozen=True)
class Protocol:
    """What is measured and how many images; stated in the scorecard."""

    seed: int = 0
    num_seeds: int = 16  # base scenes per sweep: seeds seed, seed + 1, ...
    sweep_steps: int = 24  # knob values per sweep
    num_samples: int = 256  # random scenes for mask IoU, colour and background stability
    batch_size: int = 64
    truncation_psi: float | int = 1.0
    azimuth_if_fixed: tuple[float, float] | None = (-45.0, 45.0)  # swept when the prior fixes the azimuth
    background_mask_threshold: float = 0.5
    metrics: tuple[str, ...] = ("rotation", "elevation", "azimuth", "translation", "background", "mask", "colour")
    alignment: str = field(default="one sign for all seeds, one offset per seed (L1-optimal)", init=False)

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"metrics: unknown {unknown}; known: {', '.join(METRICS)}")
        for name in ("num_seeds", "sweep_steps", "num_samples", "batch_size"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be at least 2, got {getattr(self, name)}")


@dataclass(frozen=True)
class ScoredSource:
    source: ImageSource
    prior: ScenePrior


def _control_rows(evaluator, model, floor, protocol, bar) -> dict:
    seeds = list(range(protocol.seed, protocol.seed + protocol.num_seeds))
    rows = {}
    for metric, knobs in CONTROL_METRICS.items():
        if metric not in protocol.metrics:
            continue
        for knob in knobs:
            span = sweep_range(model.prior, knob, protocol.azimuth_if_fixed)
            if span is None:
                rows[knob] = {"status": "not applicable: the training prior fixes this knob"}
                continue
            values = sweep_values(*span, protocol.sweep_steps, angular=knob in _UNITS and knob != "camera_elevation")
            figures = {}
            for role, (source, prior, hold) in {
                "model": (model.source, model.prior, False),
                "floor": (floor.source, floor.prior, False),
                "chance": (model.source, model.prior, True),
            }.items():
                bar.set_description(f"{knob} ({role})")
                error = control_error(evaluator, source, prior, knob, values, seeds, protocol.batch_size, hold)
                figures[role] = error.as_dict()
            rows[knob] = {"unit": _UNITS.get(knob, "scene units"), "swept": [span[0], span[1], len(values)], **figures}
            training = {"camera_azimuth": model.prior.azimuth_deg}.get(knob)
            if training is not None and training.high == training.low:
                rows[knob]["note"] = f"outside the training range (fixed at {training.low:g}); read through the heading"
            bar.update(1)
    return rows


def scorecard(
    evaluator: Evaluator,
    model: ScoredSource,
    floor: ScoredSource,
    protocol: Protocol,
    quality: Callable[[], dict] | None = None,
) -> dict:
    """All figures of ``protocol.metrics`` for ``model``, with floors and chance levels.

    ``quality``: called for the ``fid`` metric (giraffehd/evaluation/fid.py, wired by the CLI); its
    dict is stored as is.
    """
    num_controls = sum(len(k) for m, k in CONTROL_METRICS.items() if m in protocol.metrics)
    num_steps = num_controls + sum(m in protocol.metrics for m in ("background", "mask", "fid"))
    metrics: dict = {}
    with tqdm(total=num_steps, desc="scorecard", unit="figure") as bar:
        metrics.update(_control_rows(evaluator, model, floor, protocol, bar))
        n, seed, batch = protocol.num_samples, protocol.seed, protocol.batch_size
        threshold = protocol.background_mask_threshold
        if "background" in protocol.metrics:
            bar.set_description("background stability")
            figures = {
                "model": background_stability(model.source, model.prior, n, seed, batch, False, threshold),
                "floor": background_stability(floor.source, floor.prior, n, seed, batch, False, threshold),
                "chance": background_stability(model.source, model.prior, n, seed, batch, True, threshold),
            }
            metrics["background_stability"] = {
                "unit": "fraction of background pixels changed",
                **{role: f.changed for role, f in figures.items()},
                "background_share": {role: f.background_share for role, f in figures.items()},
            }
            bar.update(1)
        if "mask" in protocol.metrics or "colour" in protocol.metrics:
            bar.set_description("mask and colour")
            own = sample_quality(evaluator, model.source, model.prior, n, seed, batch)
            real = sample_quality(evaluator, floor.source, floor.prior, n, seed, batch)
            if "mask" in protocol.metrics:
                metrics["mask_iou"] = {
                    "unit": "IoU",
                    "model": own.mask_iou,
                    "floor": real.mask_iou,
                    "chance": own.mask_iou_shuffled,
                }
            if "colour" in protocol.metrics:
                uniform = 1 / len(own.colour_fractions)
                metrics["colour_distribution"] = {
                    "unit": "total variation from the palette's uniform share",
                    "model": 0.5 * sum(abs(f - uniform) for f in own.colour_fractions),
                    "floor": 0.5 * sum(abs(f - uniform) for f in real.colour_fractions),
                    "chance": 1 - uniform,  # every sample one colour
                    "fractions": dict(zip(evaluator.colour_names, own.colour_fractions, strict=True)),
                }
            bar.update(1)
        if "fid" in protocol.metrics:
            bar.set_description("FID/KID")
            metrics["fid"] = quality() if quality is not None else {"status": "not available"}
            bar.update(1)
    return {"protocol": asdict(protocol), "metrics": metrics}


def _figure(value, unit: str) -> str:
    if isinstance(value, dict):
        value = value["mean"]
    if unit == "IoU" or unit.startswith("total variation"):
        return f"{value:.3f}"
    if unit.startswith("fraction"):
        return f"{100 * value:.2f}%"
    return f"{value:.2f} deg" if unit == "deg" else f"{value:.4f}"


_LABELS = {
    "object_rotation": "object rotation error (mean)",
    "camera_elevation": "camera elevation error (mean)",
    "camera_azimuth": "camera azimuth error (mean)",
    "object_translation_x": "object translation x error (mean)",
    "object_translation_y": "object translation y error (mean)",
    "object_translation_z": "object translation z error (mean)",
    "background_stability": "background pixels changed",
    "mask_iou": "mask IoU",
    "colour_distribution": "colour distribution (TV)",
}


def markdown(card: dict) -> str:
    """The scorecard as a Markdown table (one row per figure)."""
    lines = ["| figure | model | floor | chance | notes |", "|---|---|---|---|---|"]
    for name, row in card["metrics"].items():
        label = _LABELS.get(name, name)
        if name == "fid" and row.get("status") == "ok":
            figures = f"FID {row['fid']:.2f}, KID {row['kid']:.4f} +- {row['kid_std']:.4f}"
            lines.append(f"| FID / KID | {figures} | | | {row['num_samples']} samples vs {row['num_reference']} real |")
            continue
        if "model" not in row:
            lines.append(f"| {label} | {row.get('status', row.get('error', '-'))} | | | |")
            continue
        unit, notes = row.get("unit", ""), []
        if isinstance(row["model"], dict):
            notes.append(f"median {_figure(row['model']['median'], unit)}, sign {row['model']['sign']:+d}")
            notes.append(f"one global offset: {_figure(row['model']['mean_global_offset'], unit)}")
            low, high, steps = row["swept"]
            notes.append(f"swept {low:g} to {high:g} in {steps} steps")
        if "note" in row:
            notes.append(row["note"])
        if "background_share" in row:
            share = row["background_share"]
            notes.append(
                f"background: {100 * share['model']:.1f}% of the pixels ({100 * share['floor']:.1f}% in the data)"
            )
        if "fractions" in row:
            notes.append(", ".join(f"{k} {100 * v:.0f}%" for k, v in row["fractions"].items()))
        cells = [_figure(row[k], unit) for k in ("model", "floor", "chance")]
        lines.append(f"| {label} | {' | '.join(cells)} | {'; '.join(notes)} |")
    return "\n".join(lines)


def evaluator_table(heldout: dict, fixed: Sequence[str] = ()) -> str:
    """The evaluator's held-out errors as a Markdown table; ``fixed``: targets the data never varies."""

    def mark(name: str) -> str:
        return " (fixed in the data: not measured)" if name in fixed else ""

    rows = [
        (
            "heading (object rotation - camera azimuth)",
            f"{heldout['heading_mean_deg']:.2f} deg mean, {heldout['heading_median_deg']:.2f} deg median",
        ),
        ("camera elevation", f"{heldout['elevation_mean_deg']:.2f} deg mean{mark('elevation')}"),
        ("camera azimuth", f"{heldout['azimuth_mean_deg']:.2f} deg mean{mark('azimuth')}"),
        ("object translation", f"{heldout['translation_mean']:.4f} scene units mean (axes that vary)"),
        ("class", f"{100 * heldout['class_accuracy']:.1f}% correct"),
        ("colour", f"{100 * heldout['colour_accuracy']:.1f}% correct"),
        ("foreground mask", f"IoU {heldout['mask_iou']:.3f}"),
    ]
    return "\n".join(["| head | held-out error |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


def write_atomic(path: Path, text: str) -> None:
    write_atomically(path, lambda file: file.write(text.encode()), mode=0o644)


def write_scorecard(
    card: dict, output_dir: str | Path, header: Sequence[str] = (), footer: Sequence[str] = ()
) -> tuple[Path, Path]:
    """Write scorecard.json and scorecard.md (header, the table, footer) into ``output_dir``; returns both."""
    output_dir = Path(output_dir)
    json_path, md_path = output_dir / "scorecard.json", output_dir / "scorecard.md"
    write_atomic(json_path, json.dumps(card, indent=2) + "\n")
    write_atomic(md_path, "\n".join([*header, "", markdown(card), "", *footer, ""]))
    return json_path, md_path
