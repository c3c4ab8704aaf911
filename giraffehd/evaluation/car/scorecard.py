"""The scorecard: what was scored, the protocol, and one row per figure, as scorecard.json and scorecard.md.

The rows (scorecard_rows.py) each hold a figure of the model beside its floor and its chance level and write
their own JSON record and table line; scoring.py measures them. The layout of both files follows from the
row types alone:

- scorecard.json: the provenance fields, then ``protocol`` and ``metrics`` (each row's record under its key);
- scorecard.md: a title, the protocol in one sentence, the table of rows, the evaluator's held-out errors.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from giraffehd.atomic import write_atomically
from giraffehd.evaluation.car.protocol import Protocol
from giraffehd.evaluation.car.scorecard_rows import TABLE_HEADER, Row


@dataclass(frozen=True)
class Provenance:
    """What was scored, and by which evaluator against which dataset."""

    checkpoint: str
    step: int
    evaluator: str  # the evaluator file
    dataset: str  # the synthetic dataset (its renderer gives the floor)
    evaluator_heldout: dict  # the evaluator's held-out errors (evaluator_training.reading_errors)
    evaluator_num_heldout: int  # real images those errors were measured on
    evaluator_fixed: tuple[str, ...] = ()  # targets the dataset never varies: their errors mean nothing
    render_match: str | None = None  # render-and-match's candidates, where it read the sweeps (None: it did not)


@dataclass(frozen=True)
class ScorecardFiles:
    json: Path
    markdown: Path


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


@dataclass(frozen=True)
class Scorecard:
    provenance: Provenance
    protocol: Protocol
    rows: tuple[Row, ...]

    def __post_init__(self) -> None:
        keys = [row.key for row in self.rows]
        if len(set(keys)) != len(keys):
            raise ValueError(f"scorecard rows must have distinct keys, got {keys}")

    def to_record(self) -> dict:
        """Everything in the scorecard as a JSON-ready dict."""
        p = self.provenance
        return {
            "checkpoint": p.checkpoint,
            "step": p.step,
            "evaluator": p.evaluator,
            "dataset": p.dataset,
            "evaluator_heldout": p.evaluator_heldout,
            "evaluator_num_heldout": p.evaluator_num_heldout,
            "evaluator_fixed": list(p.evaluator_fixed),
            "render_match": p.render_match,
            "protocol": asdict(self.protocol),
            "metrics": {row.key: row.to_record() for row in self.rows},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_record(), indent=2) + "\n"

    def table(self) -> str:
        """The rows as a Markdown table: figure, model, floor, chance, notes."""
        return "\n".join([*TABLE_HEADER, *(row.to_markdown() for row in self.rows)])

    def protocol_sentence(self) -> str:
        p, q = self.provenance, self.protocol
        degraded = "" if q.degradation is None else f"floor, degraded renders = the same, {q.degradation.describe()}; "
        matched = "" if p.render_match is None else f"Render-and-match: {p.render_match}. "
        return (
            f"Evaluator {p.evaluator}; floor = the dataset's renderer ({p.dataset}); {degraded}"
            f"chance = the knob ignored. {matched}"
            f"{q.num_seeds} seeds x {q.sweep_steps} steps per sweep, {q.num_samples} samples, "
            f"truncation {q.truncation_psi}, seed {q.seed}; {q.alignment}."
        )

    def to_markdown(self) -> str:
        """The whole scorecard.md: title, protocol, the table, the evaluator's held-out errors."""
        p = self.provenance
        return "\n".join(
            [
                f"# Scorecard: {p.checkpoint} (step {p.step})",
                "",
                self.protocol_sentence(),
                "",
                self.table(),
                "",
                f"Evaluator held-out errors ({p.evaluator_num_heldout} real images):",
                "",
                evaluator_table(p.evaluator_heldout, p.evaluator_fixed),
                "",
            ]
        )

    def write(self, output_dir: str | Path) -> ScorecardFiles:
        """Write scorecard.json and scorecard.md into ``output_dir``, each atomically."""
        output_dir = Path(output_dir)
        files = ScorecardFiles(output_dir / "scorecard.json", output_dir / "scorecard.md")
        write_text_atomically(files.json, self.to_json())
        write_text_atomically(files.markdown, self.to_markdown())
        return files


def write_text_atomically(path: Path, text: str) -> None:
    write_atomically(path, lambda file: file.write(text.encode()))
