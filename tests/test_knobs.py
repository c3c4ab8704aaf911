import pytest
import torch

from giraffehd.knobs import KNOB_NAMES, all_knobs, mean_box_size, qualified_name
from giraffehd.scene import FIELD_NAMES, ScenePrior

PRIOR = ScenePrior(
    num_objects=3,
    z_dim=4,
    azimuth_deg=[10, 50],
    elevation_deg=[5, 20],
    radius=[2.5, 3.0],
    fov_deg=[8, 12],
    rotation_deg=[-90, 270],
    translation=[[-0.1, 0.1], [0.0, 0.05], [-0.2, 0.3]],
    scale=[[0.1, 0.3], [0.2, 0.2], [0.3, 0.5]],
    joint_scale=False,
)
KNOBS = all_knobs(PRIOR)
CAMERA = {"azimuth", "elevation", "radius", "fov"}
PRESENT = [[True, False, True], [False, False, False], [True, True, False], [False, True, True]]


def _scene():
    """Four scenes of three slots, some of them empty, with every knob away from zero."""
    return PRIOR.sample(4, torch.Generator().manual_seed(0), object_present=PRESENT)


def _values(name: str) -> torch.Tensor:
    """One value per scene, inside the knob's default range and unlike any the scene holds."""
    low, high = KNOBS[name].default_range
    return low + (high - low) * torch.tensor([0.1, 0.35, 0.6, 0.85])


def test_the_registry_has_every_knob_once():
    assert set(KNOB_NAMES) == CAMERA | {"rotation", "translation_x", "translation_y", "translation_z", "scale"}
    assert {name for name, knob in KNOBS.items() if knob.kind == "camera"} == CAMERA
    assert all(knob.field in FIELD_NAMES for knob in KNOBS.values())


def test_a_qualified_name_adds_the_kind_as_scorecards_key_rows():
    assert qualified_name("rotation") == "object_rotation" and qualified_name("elevation") == "camera_elevation"
    assert qualified_name("translation_x") == "object_translation_x"
    with pytest.raises(ValueError, match="unknown knob 'object_rotation'; known: azimuth"):
        qualified_name("object_rotation")


@pytest.mark.parametrize("object_index", [1, None])
@pytest.mark.parametrize("name", KNOB_NAMES)
def test_a_knob_writes_its_own_field_and_slot_and_nothing_else(name, object_index):
    knob, scene = KNOBS[name], _scene()
    written = knob.write(scene, _values(name), object_index)
    changed = {f for f in FIELD_NAMES if not torch.equal(getattr(written, f), getattr(scene, f))}
    showing = knob.kind == "object" and object_index is not None  # slot 1 is empty in some scenes
    assert changed == {knob.field} | ({"object_present"} if showing else set())
    if knob.kind == "object":
        before, after = getattr(scene, knob.field), getattr(written, knob.field)
        slots = [1] if object_index is not None else [0, 1, 2]
        for slot in {0, 1, 2} - set(slots):
            assert torch.equal(after[:, slot], before[:, slot])
        if knob.axis is not None:  # the other two components of the vector stay
            others = [a for a in range(3) if a != knob.axis]
            assert torch.equal(after[..., others], before[..., others])
        for slot in slots:
            torch.testing.assert_close(knob.read(written, slot), _values(name))


def test_an_object_knob_shows_the_chosen_slot_and_leaves_presence_alone_for_all_slots():
    scene = _scene()
    shown = KNOBS["rotation"].write(scene, 30.0, object_index=1).object_present
    assert shown[:, 1].all()
    assert torch.equal(shown[:, [0, 2]], scene.object_present[:, [0, 2]])
    assert torch.equal(KNOBS["rotation"].write(scene, 30.0, object_index=None).object_present, scene.object_present)
    assert torch.equal(KNOBS["elevation"].write(scene, 30.0, object_index=1).object_present, scene.object_present)


@pytest.mark.parametrize("name", KNOB_NAMES)
def test_read_gives_back_what_write_set(name):
    knob, values = KNOBS[name], _values(name)
    assert not torch.allclose(knob.read(_scene(), 2), values)  # the test would notice a write that did nothing
    torch.testing.assert_close(knob.read(knob.write(_scene(), values, 2), 2), values)


@pytest.mark.parametrize("object_index", [2, None])
@pytest.mark.parametrize("name", KNOB_NAMES)
def test_offset_adds_to_the_scenes_own_value(name, object_index):
    knob, scene = KNOBS[name], _scene()
    step = torch.tensor([0.5, -1.0, 2.0, 0.25])
    turned = knob.offset(scene, step, object_index)
    for slot in [2] if object_index is not None else [0, 1, 2]:
        torch.testing.assert_close(knob.read(turned, slot), knob.read(scene, slot) + step)
    if knob.unit is not None:  # a scale offset grows every axis by its own unit: the box keeps its shape
        grown = scene.object_scale[:, 2] + step[:, None] * torch.tensor(knob.unit)
        torch.testing.assert_close(turned.object_scale[:, 2], grown)


def test_default_ranges_come_from_the_prior():
    assert KNOBS["azimuth"].default_range == (10.0, 50.0)
    assert KNOBS["elevation"].default_range == (5.0, 20.0)
    assert KNOBS["radius"].default_range == (2.5, 3.0)
    assert KNOBS["fov"].default_range == (8.0, 12.0)
    assert KNOBS["rotation"].default_range == (-90.0, 270.0)
    assert KNOBS["translation_x"].default_range == (-0.1, 0.1)
    assert KNOBS["translation_y"].default_range == (0.0, 0.05)
    assert KNOBS["translation_z"].default_range == (-0.2, 0.3)
    # Scale: multiples of the mean box (0.2, 0.2, 0.4); x reaches 0.5 and 1.5 of its mean, the most.
    assert mean_box_size(PRIOR) == pytest.approx((0.2, 0.2, 0.4))
    assert KNOBS["scale"].default_range == pytest.approx((0.5, 1.5))
    assert all_knobs(ScenePrior())["elevation"].default_range == pytest.approx((0.0, 9.594))


def test_scale_is_a_multiple_of_the_prior_mean_box():
    written = KNOBS["scale"].write(_scene(), torch.tensor([1.0, 2.0, 0.5, 1.0]), object_index=0)
    mean = torch.tensor([0.2, 0.2, 0.4])
    torch.testing.assert_close(written.object_scale[:, 0], torch.tensor([1.0, 2.0, 0.5, 1.0])[:, None] * mean)


def test_angles_are_periodic_and_nothing_else():
    assert {name for name, knob in KNOBS.items() if knob.periodic} == {"azimuth", "rotation"}


def test_bounds_keep_lengths_positive_and_the_camera_above_the_poles():
    assert KNOBS["elevation"].bounds == (-90.0, 90.0)
    assert all(KNOBS[name].bounds[0] > 0 for name in ("radius", "scale", "fov"))
    assert KNOBS["fov"].bounds[1] < 180


def test_rotation_is_the_objects_own_not_its_heading_seen_from_the_camera():
    scene = _scene().replace(camera_azimuth_deg=40.0)  # heading = rotation - azimuth differs from rotation
    turned = KNOBS["rotation"].write(scene, 90.0, object_index=0)
    assert turned.object_rotation_deg[:, 0].tolist() == [90.0] * 4  # not 130 (heading 90) nor 50
    assert KNOBS["rotation"].read(turned, 0).tolist() == [90.0] * 4
    assert torch.equal(turned.camera_azimuth_deg, scene.camera_azimuth_deg)
    orbited = KNOBS["azimuth"].offset(turned, 30.0)
    assert torch.equal(orbited.object_rotation_deg, turned.object_rotation_deg)  # the camera moves, not the car


def test_one_value_is_broadcast_to_every_scene_and_a_wrong_count_is_refused():
    assert KNOBS["elevation"].write(_scene(), 12.5).camera_elevation_deg.tolist() == [12.5] * 4
    with pytest.raises(ValueError, match="one number or one per scene"):
        KNOBS["elevation"].write(_scene(), torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"object_index must be in \[0, 2\]"):
        KNOBS["rotation"].write(_scene(), 1.0, object_index=3)


def test_angles_are_in_degrees_and_lengths_are_not():
    knobs = all_knobs(ScenePrior())
    assert {name for name, knob in knobs.items() if knob.in_degrees} == {"azimuth", "elevation", "fov", "rotation"}
