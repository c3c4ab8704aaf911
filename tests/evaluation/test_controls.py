import pytest
import torch
from evaluation_oracle import OracleReader, oracle_source

from giraffehd.evaluation.car.controls import (
    background_stability,
    evaluator_reader,
    sample_quality,
    sweep_range,
    sweep_values,
    swept_error,
)
from giraffehd.evaluation.sources import Rendered
from giraffehd.scene import ScenePrior

PRIOR = ScenePrior(z_dim=4, elevation_deg=[10, 30], translation=[[-0.04, 0.04], [0, 0], [-0.04, 0.04]])
SEEDS = range(6)


def error(knob: str, source, hold: bool = False, prior: ScenePrior = PRIOR) -> float:
    span = sweep_range(prior, knob, azimuth_if_fixed=(-45, 45))
    values = sweep_values(*span, 24, angular=knob in ("rotation", "azimuth"))
    return swept_error(evaluator_reader(OracleReader()), source, prior, knob, values, SEEDS, 32, hold).mean


@pytest.mark.parametrize("knob", ["rotation", "azimuth", "elevation", "translation_x", "translation_z"])
def test_a_source_that_obeys_the_knob_scores_zero(knob):
    assert error(knob, oracle_source()) == pytest.approx(0, abs=1e-4)


def test_a_source_that_ignores_the_rotation_knob_scores_chance():
    ignoring = error("rotation", oracle_source(ignore="rotation"))
    held = error("rotation", oracle_source(), hold=True)
    assert ignoring == pytest.approx(90, abs=1) and held == pytest.approx(90, abs=1)


def test_elevation_chance_is_a_quarter_of_the_range():
    assert error("elevation", oracle_source(), hold=True) == pytest.approx(5, abs=0.5)


def test_fixed_knobs_are_not_applicable_except_a_stated_azimuth_range():
    assert sweep_range(PRIOR, "translation_y", None) is None
    assert sweep_range(PRIOR, "azimuth", None) is None
    assert sweep_range(PRIOR, "azimuth", (-30, 30)) == (-30.0, 30.0)
    assert sweep_range(PRIOR, "rotation", None) == (0.0, 360.0)


def test_background_is_stable_when_it_does_not_depend_on_the_foreground():
    stable = background_stability(oracle_source(), PRIOR, 16, seed=0)
    assert stable.changed == 0.0 and stable.background_share == pytest.approx(1 - 67 / 256)
    assert background_stability(oracle_source(leak=0.5), PRIOR, 16, seed=0).changed > 0.5
    assert background_stability(oracle_source(), PRIOR, 16, seed=0, include_background=True).changed > 0.5


def test_a_one_level_change_is_not_counted():
    def nudged(scene):
        out = oracle_source()(scene)
        return Rendered(out.image + (scene.object_appearance[:, 0, :1, None, None] > 0) / 127.5, out.mask)

    assert background_stability(nudged, PRIOR, 16, seed=0).changed == 0.0


def test_mask_iou_compares_the_source_mask_with_the_reading():
    assert sample_quality(OracleReader(), oracle_source(), PRIOR, 8, seed=0).mask_iou == 1.0

    def empty(scene):
        out = oracle_source()(scene)
        return Rendered(out.image, torch.zeros_like(out.mask))

    assert sample_quality(OracleReader(), empty, PRIOR, 8, seed=0).mask_iou == 0.0


def test_metrics_are_deterministic_by_seed():
    def noisy(scene):  # a source whose images depend on the codes of each scene
        out = oracle_source()(scene)
        return Rendered(out.image + 0.2 * scene.object_shape[:, 0, :1, None, None].tanh(), out.mask)

    first = error("rotation", noisy)
    assert error("rotation", noisy) == first
    a = background_stability(oracle_source(leak=0.01), PRIOR, 16, seed=3)
    assert background_stability(oracle_source(leak=0.01), PRIOR, 16, seed=3) == a
    assert background_stability(oracle_source(leak=0.01), PRIOR, 16, seed=4) != a
