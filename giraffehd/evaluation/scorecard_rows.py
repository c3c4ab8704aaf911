"""The rows of the scorecard: one frozen dataclass per kind of figure, each writing its own JSON and table row.

Every measured row holds three figures of one protocol:

- model: the figure of the generator under test;
- floor: the same protocol on the dataset's own renderer (real images with known knobs), i.e. the error of
  the evaluator itself; a perfect generator scores about this;
- chance: the same protocol on a source that ignores the knob (the generator with the knob held at each
  seed's base value; for background stability, the background codes resampled too; for mask IoU, each mask
  paired with the evaluator's mask of another image; for colours, every sample one colour).

Each row has a ``key`` (its name in scorecard.json's "metrics"), a ``label`` (its name in the table),
``to_record()`` (a JSON-ready dict) and ``to_markdown()`` (one line of the table ``TABLE_HEADER`` opens).
"""

from dataclasses import asdict, dataclass
from typing import ClassVar

from giraffehd.evaluation.alignment import ControlError

TABLE_HEADER = ("| figure | model | floor | chance | notes |", "|---|---|---|---|---|")


def table_line(label: str, model: str, floor: str, chance: str, notes: str) -> str:
    """One row of the scorecard's table."""
    return f"| {label} | {model} | {floor} | {chance} | {notes} |"


def control_label(knob: str) -> str:
    """The table's name for a knob's control error, e.g. "object rotation error (mean)"."""
    return f"{knob.replace('_', ' ')} error (mean)"


@dataclass(frozen=True)
class ControlRow:
    """A knob swept from ``low`` to ``high`` in ``steps`` values and read back by the evaluator: errors after
    the best sign and per-seed offset (alignment.py), in ``unit``."""

    knob: str
    unit: str  # "deg" or "scene units"
    low: float
    high: float
    steps: int
    model: ControlError
    floor: ControlError
    chance: ControlError
    note: str | None = None  # e.g. a knob swept outside the training range

    @property
    def key(self) -> str:
        return self.knob

    @property
    def label(self) -> str:
        return control_label(self.knob)

    def figure(self, value: float) -> str:
        return f"{value:.2f} deg" if self.unit == "deg" else f"{value:.4f}"

    def to_record(self) -> dict:
        record = {"unit": self.unit, "swept": [self.low, self.high, self.steps]}
        record |= {"model": asdict(self.model), "floor": asdict(self.floor), "chance": asdict(self.chance)}
        return record if self.note is None else {**record, "note": self.note}

    def to_markdown(self) -> str:
        notes = [
            f"median {self.figure(self.model.median)}, sign {self.model.sign:+d}",
            f"one global offset: {self.figure(self.model.mean_global_offset)}",
            f"swept {self.low:g} to {self.high:g} in {self.steps} steps",
            *([self.note] if self.note is not None else []),
        ]
        model, floor, chance = (self.figure(e.mean) for e in (self.model, self.floor, self.chance))
        return table_line(self.label, model, floor, chance, "; ".join(notes))


@dataclass(frozen=True)
class BackgroundRow:
    """Fraction of background pixels that change when only the foreground is resampled, and the share of
    all pixels that count as background in each measurement."""

    key: ClassVar[str] = "background_stability"
    label: ClassVar[str] = "background pixels changed"
    unit: ClassVar[str] = "fraction of background pixels changed"

    model: float
    floor: float
    chance: float
    model_background_share: float
    floor_background_share: float
    chance_background_share: float

    def to_record(self) -> dict:
        shares = (self.model_background_share, self.floor_background_share, self.chance_background_share)
        return {
            "unit": self.unit,
            "model": self.model,
            "floor": self.floor,
            "chance": self.chance,
            "background_share": dict(zip(("model", "floor", "chance"), shares, strict=True)),
        }

    def to_markdown(self) -> str:
        model, floor, chance = (f"{100 * v:.2f}%" for v in (self.model, self.floor, self.chance))
        notes = (
            f"background: {100 * self.model_background_share:.1f}% of the pixels "
            f"({100 * self.floor_background_share:.1f}% in the data)"
        )
        return table_line(self.label, model, floor, chance, notes)


@dataclass(frozen=True)
class MaskRow:
    """IoU of the generator's foreground mask with the mask the evaluator reads from the image."""

    key: ClassVar[str] = "mask_iou"
    label: ClassVar[str] = "mask IoU"
    unit: ClassVar[str] = "IoU"

    model: float
    floor: float
    chance: float

    def to_record(self) -> dict:
        return {"unit": self.unit, "model": self.model, "floor": self.floor, "chance": self.chance}

    def to_markdown(self) -> str:
        return table_line(self.label, f"{self.model:.3f}", f"{self.floor:.3f}", f"{self.chance:.3f}", "")


@dataclass(frozen=True)
class ColourRow:
    """Total variation between the colours the evaluator reads and the palette's uniform share."""

    key: ClassVar[str] = "colour_distribution"
    label: ClassVar[str] = "colour distribution (TV)"
    unit: ClassVar[str] = "total variation from the palette's uniform share"

    model: float
    floor: float
    chance: float
    fractions: dict[str, float]  # the model's share of samples read as each palette colour

    def to_record(self) -> dict:
        record = {"unit": self.unit, "model": self.model, "floor": self.floor, "chance": self.chance}
        return {**record, "fractions": dict(self.fractions)}

    def to_markdown(self) -> str:
        notes = ", ".join(f"{name} {100 * share:.0f}%" for name, share in self.fractions.items())
        return table_line(self.label, f"{self.model:.3f}", f"{self.floor:.3f}", f"{self.chance:.3f}", notes)


@dataclass(frozen=True)
class FidRow:
    """FID and KID (clean-fid, clean mode) of ``num_samples`` generated images against ``num_reference`` real."""

    key: ClassVar[str] = "fid"
    label: ClassVar[str] = "FID / KID"

    truncation_psi: float | int
    fid: float
    kid: float  # mean over KID subsets
    kid_std: float  # spread of the per-subset estimates
    num_samples: int
    num_reference: int
    mode: str
    weights: str  # the Inception file used
    weights_sha256: str
    reference_cache: str  # the .npz holding the reference features

    def to_record(self) -> dict:
        return {"status": "ok", **asdict(self)}

    def to_markdown(self) -> str:
        figures = f"FID {self.fid:.2f}, KID {self.kid:.4f} +- {self.kid_std:.4f}"
        notes = f"{self.num_samples} samples (truncation {self.truncation_psi:g}) vs {self.num_reference} real"
        return table_line(self.label, figures, "", "", notes)


@dataclass(frozen=True)
class UnmeasuredRow:
    """A figure that was not measured: ``status`` says why (e.g. a knob the training prior fixes)."""

    key: str
    label: str
    status: str
    reason: str | None = None  # details, e.g. the error that stopped it

    def to_record(self) -> dict:
        return {"status": self.status} if self.reason is None else {"status": self.status, "reason": self.reason}

    def to_markdown(self) -> str:
        return table_line(self.label, self.status, "", "", self.reason or "")


Row = ControlRow | BackgroundRow | MaskRow | ColourRow | FidRow | UnmeasuredRow
