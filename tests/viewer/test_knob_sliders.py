"""The viewer's knob sliders: one per knob of the registry, each writing its own field of the view only."""

import pytest
import torch

from giraffehd.knobs import KNOB_NAMES, all_knobs
from giraffehd.scene import ScenePrior
from giraffehd.viewer.controls import KNOB_CONTROLS, slider_spans
from giraffehd.viewer.orbit import MAX_ELEVATION_DEG
from giraffehd.viewer.state import initial_state, scene_of

PRIOR = ScenePrior(
    num_objects=2, z_dim=4, azimuth_deg=[0, 360], elevation_deg=[5, 25], radius=[2.5, 3.0], fov_deg=[8, 12],
    translation=[[-0.1, 0.1], [0.0, 0.0], [-0.2, 0.3]],
)  # fmt: skip
CONTROLS = {control.knob: control for control in KNOB_CONTROLS}


def test_every_knob_of_the_registry_has_one_slider():
    assert sorted(CONTROLS) == sorted(KNOB_NAMES) and len(KNOB_CONTROLS) == len(KNOB_NAMES)
    assert {c.knob for c in KNOB_CONTROLS if c.folder == "camera"} == {
        name for name, knob in all_knobs(PRIOR).items() if knob.kind == "camera"
    }
    assert len({c.label for c in KNOB_CONTROLS}) == len(KNOB_CONTROLS)  # the page finds a slider by its label


def test_slider_ranges_cover_the_prior_and_go_past_it():
    spans = slider_spans(PRIOR)
    assert spans["azimuth"] == spans["rotation"] == (-180.0, 180.0)  # one turn, wrapped
    assert spans["elevation"] == (-MAX_ELEVATION_DEG, MAX_ELEVATION_DEG)
    assert spans["radius"] == (1.25, 6.0) and spans["fov"] == (4.0, 24.0)
    assert spans["translation_x"] == pytest.approx((-0.35, 0.35))  # widened by at least 0.5 in all
    assert spans["translation_z"] == pytest.approx((-0.45, 0.55))  # half its width on each side
    knobs = all_knobs(PRIOR)
    for name, (low, high) in spans.items():
        k_low, k_high = knobs[name].default_range
        if not knobs[name].periodic:
            assert low <= k_low and high >= k_high, name


@pytest.mark.parametrize("name", KNOB_NAMES)
def test_a_slider_writes_its_knob_of_the_chosen_object_and_nothing_else(name):
    state = initial_state(PRIOR, seed=4)
    control = CONTROLS[name]
    low, high = slider_spans(PRIOR)[name]
    value = low + 0.3 * (high - low)
    turned = control.write(state, 1, value)
    assert control.read(turned, 1) == pytest.approx(value)
    before, after = scene_of(state, PRIOR), scene_of(turned, PRIOR)
    knob = all_knobs(PRIOR)[name]
    assert torch.allclose(knob.read(after, 1), torch.tensor([value]), atol=1e-5)
    for field in ("camera_azimuth_deg", "camera_elevation_deg", "camera_radius", "camera_fov_deg",
                  "object_rotation_deg", "object_translation", "object_scale", "object_shape"):  # fmt: skip
        if field != knob.field:
            assert torch.equal(getattr(before, field), getattr(after, field)), field
    if knob.kind == "object":  # object 0 keeps its own value
        assert torch.equal(knob.read(before, 0), knob.read(after, 0))


def test_shown_values_wrap_angles_and_keep_the_elevation_off_the_poles():
    state = initial_state(PRIOR, seed=4).replace(azimuth_deg=350.0, elevation_deg=95.0)
    state = state.replace_object(0, rotation_deg=-190.0)
    assert CONTROLS["azimuth"].shown(state, 0) == pytest.approx(-10.0)
    assert CONTROLS["rotation"].shown(state, 0) == pytest.approx(170.0)
    assert CONTROLS["elevation"].shown(state, 0) == MAX_ELEVATION_DEG
    assert [c.knob for c in KNOB_CONTROLS if c.moves_camera] == ["azimuth", "elevation", "radius"]
