"""The scene scorecard's registry and its typed card: what each entry turns, the rows and the record."""

import json

import pytest

from giraffehd.evaluation.scenes.controls import (
    EDITS,
    ColourControl,
    CountAccuracy,
    SceneProtocol,
    TranslationControl,
)
from giraffehd.evaluation.scenes.isolation import Isolation
from giraffehd.evaluation.scenes.scorecard import METRIC_NAMES, SCENE_METRICS, SceneScorecard, check_metrics
from giraffehd.evaluation.scenes.shapes import ShapeShares
from giraffehd.knobs import KNOB_NAMES


def results(scale: float) -> dict:
    """One typed result per registry metric; ``scale`` tells the model's figures from the floor's."""
    return {
        "count": CountAccuracy({0: 0.9 * scale, 1: scale, 2: 0.5 * scale}, 0.8 * scale, 1 / 3),
        "translation": TranslationControl(error_px=0.3 * scale, chance_px=12.0, frames=10),
        "isolation": [Isolation(edit, 0.01 * scale, 0.1 * scale, 0.4, 18.0, 4) for edit in EDITS],
        "colour": ColourControl(swapped_reads_target=scale, others_keep=scale, chance=0.125, scenes=4),
        "shapes": ShapeShares({"box": 0.5, "sphere": 0.5}, 10, 0.2 * scale, {"box": 0.5, "sphere": 0.5}, 0.5),
    }


def card(model: dict, floor: dict) -> SceneScorecard:
    return SceneScorecard("m.pt", 7, "e.pt", "data", SceneProtocol(num_scenes=4), None, model, floor)


def test_every_entry_turns_a_known_knob_or_edit_and_has_a_result_here():
    for metric in SCENE_METRICS.values():
        assert all(turned in KNOB_NAMES or turned in EDITS for turned in metric.turns), metric.name
    assert set(results(1.0)) == set(SCENE_METRICS)  # this test covers every entry


def test_the_table_has_each_metrics_rows_and_targets_in_registry_order():
    text = card(results(1.0), results(0.5)).to_markdown()
    lines = text.splitlines()
    assert lines[0].startswith("Checkpoint m.pt (step 7); scene evaluator e.pt; 4 base scenes")
    assert "| the background alone read as empty | 90.0% | 45.0% | 33.3% | >= 97.5% |" in lines
    assert "| count read right, 2 objects | 50.0% | 25.0% | 33.3% | >= 95% |" in lines
    assert "| translation control error (x sweep), px | 0.30 | 0.15 | 12.00 | <= 0.30 (2x floor) |" in lines
    # the objects not edited are judged against the floor's position error
    assert "| move: other objects' read shift, px | 0.10 | 0.05 | 18.00 | <= 0.15 (floor's position error) |" in lines
    order = [
        next(i for i, row in enumerate(lines) if key in row)
        for key in ("empty", "translation", "move:", "partner", "shapes")
    ]
    assert order == sorted(order)


def test_without_translation_the_isolation_rows_have_no_target():
    model, floor = ({"isolation": results(scale)["isolation"]} for scale in (1.0, 0.5))
    text = card(model, floor).to_markdown()
    assert "| move: other objects' read shift, px | 0.10 | 0.05 | 18.00 |  |" in text.splitlines()
    assert "count read right" not in text


def test_the_record_is_plain_json_with_the_scorecard_keys():
    record = json.loads(json.dumps(card(results(1.0), results(0.5)).to_record()))
    assert set(record) == {
        "checkpoint",
        "step",
        "evaluator",
        "dataset",
        "protocol",
        "evaluator_heldout",
        "model",
        "floor",
    }
    assert record["model"]["count"]["per_count"] == {"0": 0.9, "1": 1.0, "2": 0.5}
    assert [row["edit"] for row in record["floor"]["isolation"]] == list(EDITS)


def test_metric_names_are_checked_in_one_line():
    check_metrics(list(METRIC_NAMES))
    with pytest.raises(ValueError, match="metrics: unknown 'speed'; known: count, translation"):
        check_metrics(["count", "speed"])
    with pytest.raises(ValueError, match="metrics is empty: name at least one of count"):
        check_metrics([])
