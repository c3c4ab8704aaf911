"""The rows of the scorecard: one frozen dataclass per kind of figure, each writing its own JSON and table row.

Every measured row holds three figures of one protocol:

- model: the figure of the generator under test;
- floor: the same protocol on the dataset's own renderer (real images with known knobs), i.e. the error of
  the evaluator itself; a perfect generator scores about this;
- floor, degraded renders (knob sweeps and mask IoU): the same renders blurred, shifted and resized as a
  generator's images are (degradations.py), i.e. the reader's error on images that look generated;
- chance: the same protocol on a source that ignores the knob (the generator with the knob held at each
  seed's base value; for background stability, the background codes resampled too; for mask IoU, each mask
  paired with the evaluator's mask of another image; for colours, every sample one colour).

Knob sweeps are read by the evaluator and, for rotation and elevation, optionally by render-and-match
(render_match.py): a row per reader. Elevation is absolute (the data fixes what 20 degrees means), so its
headline figure is the error after one global offset; the other knobs' is after one offset per seed.

Each row has a ``key`` (its name in scorecard.json's "metrics"), a ``label`` (its name in the table),
``to_record()`` (a JSON-ready dict) and ``to_markdown()`` (one line of the table ``TABLE_HEADER`` opens).
"""

from dataclasses import asdict, dataclass
from typing import ClassVar

from giraffehd.evaluation.alignment import FAR_OFF_DEG, ControlError
from giraffehd.evaluation.quality.fid_protocol import describe_protocol, quality_figures
from giraffehd.knobs import qualified_name

TABLE_HEADER = (
    "| figure | model | floor | floor, degraded renders | chance | notes |",
    "|---|---|---|---|---|---|",
)


def table_line(label: str, model: str, floor: str, chance: str, notes: str, degraded: str = "") -> str:
    """One row of the scorecard's table (``degraded``: the floor on degraded renders, where measured)."""
    return f"| {label} | {model} | {floor} | {degraded} | {chance} | {notes} |"


def control_label(knob: str) -> str:
    """The table's name for a knob's control error, e.g. "object rotation error (mean)" for "rotation"."""
    return f"{qualified_name(knob).replace('_', ' ')} error (mean)"


@dataclass(frozen=True)
class ControlRow:
    """A knob swept from ``low`` to ``high`` in ``steps`` values and read back by ``reader``: errors after the
    best sign and per-seed offset, and after one global offset (alignment.py), in ``unit``. The headline
    (the table's figures) is the global-offset error where ``global_offset_headline``, else the per-seed one."""

    knob: str
    unit: str  # "deg" or "scene units"
    low: float
    high: float
    steps: int
    model: ControlError
    floor: ControlError
    chance: ControlError
    note: str | None = None  # e.g. a knob swept outside the training range
    floor_degraded: ControlError | None = None  # the floor on degraded renders (None: not measured)
    reader: str = "evaluator"  # or "render-and-match"
    global_offset_headline: bool = False  # an absolute knob: the headline allows one offset for all seeds

    @property
    def key(self) -> str:
        # scorecard.json keys name the knob with its kind ("object_rotation"), as they always have
        key = qualified_name(self.knob)
        return key if self.reader == "evaluator" else f"{key}_{self.reader.replace('-', '_')}"

    @property
    def label(self) -> str:
        label = control_label(self.knob)
        if self.global_offset_headline:
            label = label.replace("(mean)", "(mean, one global offset)")
        return label if self.reader == "evaluator" else f"{label}, {self.reader}"

    @property
    def headline(self) -> str:
        """The ControlError field the table shows."""
        return "mean_global_offset" if self.global_offset_headline else "mean"

    def figure(self, value: float) -> str:
        return f"{value:.2f} deg" if self.unit == "deg" else f"{value:.4f}"

    def to_record(self) -> dict:
        record = {"unit": self.unit, "swept": [self.low, self.high, self.steps], "reader": self.reader}
        record |= {"headline": self.headline, "model": asdict(self.model), "floor": asdict(self.floor)}
        if self.floor_degraded is not None:
            record["floor_degraded"] = asdict(self.floor_degraded)
        record["chance"] = asdict(self.chance)
        return record if self.note is None else {**record, "note": self.note}

    def to_markdown(self) -> str:
        m = self.model
        if self.global_offset_headline:
            alignment = f"per-seed offset: {self.figure(m.mean)} (median {self.figure(m.median)}), sign {m.sign:+d}"
        else:
            alignment = f"median {self.figure(m.median)}, sign {m.sign:+d}; one global offset: "
            alignment += self.figure(m.mean_global_offset)
        if m.share_far_off is not None and not self.global_offset_headline:
            alignment += f"; {m.share_far_off:.1%} of images over {FAR_OFF_DEG:g} deg off"
        notes = [
            alignment,
            f"swept {self.low:g} to {self.high:g} in {self.steps} steps",
            *([self.note] if self.note is not None else []),
        ]
        model, floor, chance = (self.figure(getattr(e, self.headline)) for e in (self.model, self.floor, self.chance))
        degraded = "" if self.floor_degraded is None else self.figure(getattr(self.floor_degraded, self.headline))
        return table_line(self.label, model, floor, chance, "; ".join(notes), degraded)


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
    floor_degraded: float | None = None  # the floor on degraded renders (their true masks moved with them)

    def to_record(self) -> dict:
        record = {"unit": self.unit, "model": self.model, "floor": self.floor, "chance": self.chance}
        return record if self.floor_degraded is None else {**record, "floor_degraded": self.floor_degraded}

    def to_markdown(self) -> str:
        degraded = "" if self.floor_degraded is None else f"{self.floor_degraded:.3f}"
        return table_line(self.label, f"{self.model:.3f}", f"{self.floor:.3f}", f"{self.chance:.3f}", "", degraded)


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
    resize_to: int | None = None  # generated images resized to this many pixels first (None: as made)
    floor_fid: float | None = None  # real-against-real floor: num_samples real images outside the reference
    floor_kid: float | None = None
    floor_kid_std: float | None = None
    floor_source: str | None = None
    deviations: tuple[str, ...] | None = None  # departures from the fidelity protocol (empty: none; None: unchecked)

    def to_record(self) -> dict:
        protocol = {} if self.deviations is None else {"protocol": describe_protocol(self.deviations)}
        return {"status": "ok", **protocol, **asdict(self)}

    def to_markdown(self) -> str:
        figures = quality_figures(self.fid, self.kid, self.kid_std)
        floor = "" if self.floor_fid is None else quality_figures(self.floor_fid, self.floor_kid, self.floor_kid_std)
        notes = [
            f"{self.num_samples} samples (truncation {self.truncation_psi:g}) vs {self.num_reference} real",
            *([f"resized to {self.resize_to} px (bicubic)"] if self.resize_to is not None else []),
            *([f"floor: {self.floor_source}"] if self.floor_source is not None else []),
            *([describe_protocol(self.deviations)] if self.deviations is not None else []),
        ]
        return table_line(self.label, figures, floor, "", "; ".join(notes))


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
