"""The typed scorecard: every row's figures reach scorecard.json and scorecard.md under the row's own name,
and scoring.py fills the rows from a protocol (with the oracle source and reader, no network)."""

import dataclasses
import json
from dataclasses import fields

import pytest
import torch
from evaluation_oracle import OracleReader, oracle_source

from giraffehd.evaluation.alignment import ControlError
from giraffehd.evaluation.car.protocol import Protocol
from giraffehd.evaluation.car.render_match import MatchReading
from giraffehd.evaluation.car.scorecard import Provenance, Scorecard
from giraffehd.evaluation.car.scorecard_rows import (
    BackgroundRow,
    ColourRow,
    ControlRow,
    FidRow,
    MaskRow,
    UnmeasuredRow,
)
from giraffehd.evaluation.car.scoring import ScoredSource, score
from giraffehd.evaluation.quality.fid import QualityScores
from giraffehd.scene import ScenePrior

HELDOUT = {
    "heading_mean_deg": 3.5,
    "heading_median_deg": 2.25,
    "elevation_mean_deg": 1.5,
    "azimuth_mean_deg": 0.0,
    "translation_mean": 0.0125,
    "translation_mean_per_axis": [0.0125, 0.0, 0.0125],
    "class_accuracy": 1.0,
    "colour_accuracy": 0.875,
    "mask_iou": 0.925,
}
PROVENANCE = Provenance("runs/x/last.ckpt", 42, "models/evaluator.pt", "data/cars", HELDOUT, 6, ("azimuth",))


def control(mean: float, median: float = 0.5, sign: int = 1) -> ControlError:
    return ControlError(mean=mean, median=median, sign=sign, mean_global_offset=2 * mean, num_images=96,
                        share_far_off=0.125)  # fmt: skip


ROWS = (
    ControlRow("rotation", "deg", 0.0, 360.0, 24, control(12.5, 8.25, -1), control(1.25), control(90.5)),
    ControlRow("azimuth", "deg", -45.0, 45.0, 24, control(6.5), control(0.75), control(22.5), note="outside the range"),
    ControlRow("translation_x", "scene units", -0.04, 0.04, 24, control(0.0123), control(0.0045), control(0.02)),
    UnmeasuredRow("object_translation_y", "object translation y error (mean)", "not applicable: fixed"),
    BackgroundRow(0.0125, 0.0025, 0.625, 0.5, 0.75, 0.375),
    MaskRow(0.875, 0.95, 0.125),
    ColourRow(0.25, 0.0625, 0.5, {"red": 0.75, "blue": 0.25}),
    FidRow(0.7, 123.45, 0.0678, 0.0012, 256, 512, "clean", "w.pt", "abc", "cache.npz"),
)


HEADER = "| figure | model | floor | floor, degraded renders | chance | notes |\n|---|---|---|---|---|---|\n"


def all_cells(markdown: str) -> dict[str, list[str]]:
    """The table of figures as {label: [model, floor, floor on degraded renders, chance, notes]}."""
    lines = markdown.split(HEADER)[1].split("\n\n")[0]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines.splitlines()]
    return {row[0]: row[1:] for row in cells}


def table_cells(markdown: str) -> dict[str, list[str]]:
    """The table of figures as {label: [model, floor, chance, notes]} (without the degraded floor)."""
    return {label: row[:2] + row[3:] for label, row in all_cells(markdown).items()}


def test_each_row_reaches_the_markdown_table_under_its_own_label():
    card = Scorecard(PROVENANCE, Protocol(), ROWS)
    markdown = card.to_markdown()
    cells = table_cells(markdown)
    assert list(cells) == [
        "object rotation error (mean)",
        "camera azimuth error (mean)",
        "object translation x error (mean)",
        "object translation y error (mean)",
        "background pixels changed",
        "mask IoU",
        "colour distribution (TV)",
        "FID / KID",
    ]
    rotation = cells["object rotation error (mean)"]
    assert rotation[:3] == ["12.50 deg", "1.25 deg", "90.50 deg"]
    assert "median 8.25 deg, sign -1" in rotation[3] and "one global offset: 25.00 deg" in rotation[3]
    assert "12.5% of images over 30 deg off" in rotation[3]
    assert "swept 0 to 360 in 24 steps" in rotation[3]
    assert cells["camera azimuth error (mean)"][:3] == ["6.50 deg", "0.75 deg", "22.50 deg"]
    assert cells["camera azimuth error (mean)"][3].endswith("; outside the range")
    assert cells["object translation x error (mean)"][:3] == ["0.0123", "0.0045", "0.0200"]
    assert cells["object translation y error (mean)"] == ["not applicable: fixed", "", "", ""]
    assert cells["background pixels changed"] == [
        "1.25%",
        "0.25%",
        "62.50%",
        "background: 50.0% of the pixels (75.0% in the data)",
    ]
    assert cells["mask IoU"] == ["0.875", "0.950", "0.125", ""]
    assert cells["colour distribution (TV)"] == ["0.250", "0.062", "0.500", "red 75%, blue 25%"]
    assert cells["FID / KID"] == [
        "FID 123.45, KID 0.0678 +- 0.0012",
        "",
        "",
        "256 samples (truncation 0.7) vs 512 real",
    ]
    assert markdown.startswith("# Scorecard: runs/x/last.ckpt (step 42)\n\nEvaluator models/evaluator.pt; ")
    assert "Evaluator held-out errors (6 real images):" in markdown
    assert "| camera azimuth | 0.00 deg mean (fixed in the data: not measured) |" in markdown


def test_each_row_reaches_the_json_under_its_own_key(tmp_path):
    card = Scorecard(PROVENANCE, Protocol(seed=3), ROWS)
    files = card.write(tmp_path)
    assert (files.json.name, files.markdown.name) == ("scorecard.json", "scorecard.md")
    assert files.markdown.read_text() == card.to_markdown()
    record = json.loads(files.json.read_text())
    assert record == json.loads(card.to_json())
    assert (record["checkpoint"], record["step"], record["evaluator_heldout"]) == ("runs/x/last.ckpt", 42, HELDOUT)
    assert record["protocol"]["seed"] == 3 and record["protocol"]["alignment"].startswith("one sign")
    metrics = record["metrics"]
    assert list(metrics) == [row.key for row in ROWS]
    rotation = metrics["object_rotation"]
    assert rotation["unit"] == "deg" and rotation["swept"] == [0.0, 360.0, 24]
    assert [rotation[r]["mean"] for r in ("model", "floor", "chance")] == [12.5, 1.25, 90.5]
    assert rotation["model"] == {"mean": 12.5, "median": 8.25, "sign": -1, "mean_global_offset": 25.0, "num_images": 96,
                                 "share_far_off": 0.125}  # fmt: skip
    assert "note" not in rotation and metrics["camera_azimuth"]["note"] == "outside the range"
    assert metrics["object_translation_x"]["chance"]["mean"] == 0.02
    assert metrics["object_translation_y"] == {"status": "not applicable: fixed"}
    assert metrics["background_stability"] == {
        "unit": "fraction of background pixels changed",
        "model": 0.0125,
        "floor": 0.0025,
        "chance": 0.625,
        "background_share": {"model": 0.5, "floor": 0.75, "chance": 0.375},
    }
    assert metrics["mask_iou"] == {"unit": "IoU", "model": 0.875, "floor": 0.95, "chance": 0.125}
    colour = metrics["colour_distribution"]
    assert (colour["model"], colour["floor"], colour["chance"]) == (0.25, 0.0625, 0.5)
    assert colour["fractions"] == {"red": 0.75, "blue": 0.25}
    fid = metrics["fid"]
    assert (fid["status"], fid["fid"], fid["kid"], fid["kid_std"]) == ("ok", 123.45, 0.0678, 0.0012)
    assert (fid["num_samples"], fid["num_reference"], fid["truncation_psi"]) == (256, 512, 0.7)


def test_an_unavailable_fid_says_why_and_duplicate_rows_are_refused():
    row = UnmeasuredRow("fid", FidRow.label, "not available", "weights not found")
    assert row.to_record() == {"status": "not available", "reason": "weights not found"}
    assert table_cells(Scorecard(PROVENANCE, Protocol(), (row,)).to_markdown())["FID / KID"][0] == "not available"
    with pytest.raises(ValueError, match="distinct keys"):
        Scorecard(PROVENANCE, Protocol(), (MaskRow(0.5, 0.5, 0.1), MaskRow(0.6, 0.5, 0.1)))


def test_the_fid_row_takes_every_field_of_the_quality_scores():
    assert {f.name for f in fields(FidRow)} == {f.name for f in fields(QualityScores)} | {"truncation_psi"}


def test_scoring_fills_the_rows_of_the_protocol_in_order():
    prior = ScenePrior(z_dim=4, elevation_deg=[10, 30], translation=[[-0.04, 0.04], [0, 0], [-0.04, 0.04]])
    scored = ScoredSource(oracle_source(), prior)
    metrics = ("rotation", "elevation", "azimuth", "translation", "background", "mask", "colour", "fid")
    protocol = Protocol(num_seeds=3, sweep_steps=8, num_samples=8, batch_size=32, metrics=metrics)
    rows = score(OracleReader(), scored, scored, protocol)
    assert [row.key for row in rows] == [
        "object_rotation",
        "camera_elevation",
        "camera_azimuth",
        "object_translation_x",
        "object_translation_y",
        "object_translation_z",
        "background_stability",
        "mask_iou",
        "colour_distribution",
        "fid",
    ]
    by_key = {row.key: row for row in rows}
    rotation = by_key["object_rotation"]
    assert isinstance(rotation, ControlRow) and rotation.unit == "deg" and (rotation.low, rotation.high) == (0, 360)
    assert rotation.model.mean == pytest.approx(0, abs=1e-3) and rotation.chance.mean > 45
    assert by_key["camera_azimuth"].note.startswith("outside the training range")
    assert by_key["object_translation_x"].unit == "scene units"
    assert isinstance(by_key["object_translation_y"], UnmeasuredRow)
    assert by_key["background_stability"].model == 0.0 and by_key["background_stability"].chance > 0.5
    assert by_key["mask_iou"].model == pytest.approx(1.0)
    assert by_key["fid"] == UnmeasuredRow("fid", "FID / KID", "not available")


def test_the_degraded_floor_and_render_and_match_have_their_own_cells_and_keys():
    def with_global(mean: float, global_offset: float) -> ControlError:
        return ControlError(mean=mean, median=mean / 2, sign=1, mean_global_offset=global_offset, num_images=96)

    elevation = ControlRow(
        "elevation", "deg", 10.0, 30.0, 24, with_global(1.5, 4.25), with_global(0.25, 0.5),
        with_global(5.0, 5.5), floor_degraded=with_global(0.75, 1.25), global_offset_headline=True,
    )  # fmt: skip
    matched = ControlRow(
        "rotation", "deg", 0.0, 360.0, 24, control(0.5), control(0.25), control(90.0),
        floor_degraded=control(1.0), reader="render-and-match",
    )  # fmt: skip
    rows = (elevation, matched, MaskRow(0.875, 0.95, 0.125, floor_degraded=0.75))
    card = Scorecard(PROVENANCE, Protocol(), rows)
    cells = all_cells(card.to_markdown())
    # Elevation is absolute: its headline allows one offset for all seeds, the per-seed figure is a note.
    assert cells["camera elevation error (mean, one global offset)"][:4] == [
        "4.25 deg",
        "0.50 deg",
        "1.25 deg",
        "5.50 deg",
    ]
    assert "per-seed offset: 1.50 deg (median 0.75 deg)" in cells["camera elevation error (mean, one global offset)"][4]
    assert cells["object rotation error (mean), render-and-match"][:4] == [
        "0.50 deg",
        "0.25 deg",
        "1.00 deg",
        "90.00 deg",
    ]
    assert cells["mask IoU"][:4] == ["0.875", "0.950", "0.750", "0.125"]
    metrics = card.to_record()["metrics"]
    assert list(metrics) == ["camera_elevation", "object_rotation_render_and_match", "mask_iou"]
    assert metrics["camera_elevation"]["headline"] == "mean_global_offset"
    assert metrics["camera_elevation"]["floor_degraded"]["mean_global_offset"] == 1.25
    assert metrics["object_rotation_render_and_match"]["reader"] == "render-and-match"
    assert metrics["mask_iou"]["floor_degraded"] == 0.75
    assert "floor, degraded renders = the same, blur sigma 1 px" in card.to_markdown()
    assert "floor_degraded" not in ROWS[0].to_record() and "floor_degraded" not in ROWS[5].to_record()


def test_scoring_adds_the_degraded_floor_and_a_second_reader_for_rotation_and_elevation():
    prior = ScenePrior(z_dim=4, elevation_deg=[10, 30], translation=[[-0.04, 0.04], [0, 0], [-0.04, 0.04]])
    scored = ScoredSource(oracle_source(), prior)
    protocol = Protocol(
        num_seeds=3,
        sweep_steps=8,
        num_samples=8,
        batch_size=32,
        metrics=("rotation", "elevation", "translation", "mask"),
    )
    oracle = OracleReader()

    def pose_reader(images, scenes):  # stands in for render-and-match: the pose, from the oracle's pixels
        reading = oracle.read(images)
        return MatchReading(
            reading.heading_deg, reading.elevation_deg, torch.zeros(len(images)), torch.zeros(len(images), 3)
        )

    rows = score(oracle, scored, scored, protocol, render_match=pose_reader)
    by_key = {row.key: row for row in rows}
    assert list(by_key) == [
        "object_rotation",
        "object_rotation_render_and_match",
        "camera_elevation",
        "camera_elevation_render_and_match",
        "object_translation_x",
        "object_translation_y",
        "object_translation_z",
        "mask_iou",
    ]
    assert by_key["object_rotation_render_and_match"].model.mean == pytest.approx(0, abs=1e-3)
    assert by_key["camera_elevation"].global_offset_headline and by_key["camera_elevation"].floor_degraded is not None
    assert by_key["mask_iou"].floor_degraded is not None
    # The oracle writes the pose into pixels, so shifting and blurring them scrambles its reading.
    assert by_key["object_rotation"].floor_degraded.mean > by_key["object_rotation"].floor.mean
    plain = score(oracle, scored, scored, dataclasses.replace(protocol, degradation=None))
    assert all(getattr(row, "floor_degraded", None) is None for row in plain)
