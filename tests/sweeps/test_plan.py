import pytest
import torch

from giraffehd.scene import FIELD_NAMES, ScenePrior
from giraffehd.sweeps.plan import SWEEP_NAMES, all_sweeps, plan_sweep, plan_sweeps, sweep_scenes

PRIOR = ScenePrior(num_objects=3, min_objects=1, z_dim=4, elevation_deg=[10, 30], rotation_deg=[-30, 30])
# The fields each sweep may change; every other factor of the seed must stay as drawn.
CHANGES = {
    "elevation": {"camera_elevation_deg"},
    "azimuth": {"camera_azimuth_deg"},
    "radius": {"camera_radius"},
    "rotation": {"object_rotation_deg", "object_present"},
    "translation_x": {"object_translation", "object_present"},
    "translation_y": {"object_translation", "object_present"},
    "translation_z": {"object_translation", "object_present"},
    "scale": {"object_scale", "object_present"},
    "shape": {"object_shape", "object_present"},
    "appearance": {"object_appearance", "object_present"},
    "background": {"background_shape", "background_appearance"},
    "recolour": {"object_appearance", "object_present"},
    "objects": {"object_present"},
    "remove": {"object_present"},
    "turntable": {"object_rotation_deg", "object_present"},
    "orbit": {"camera_azimuth_deg"},
}


def _draws(count=8, seed=0):
    rng = torch.Generator().manual_seed(seed)
    return [PRIOR.sample(1, rng) for _ in range(count)]


def _plan(name, requested=None, steps=5, frames=12, prior=PRIOR, extrapolate=0.0):
    return plan_sweep(all_sweeps(prior)[name], prior, requested, steps, frames, extrapolate)


@pytest.mark.parametrize("name", SWEEP_NAMES)
def test_a_sweep_changes_its_own_knob_and_nothing_else(name):
    assert set(CHANGES) == set(SWEEP_NAMES)
    requested = {"azimuth": [-20, 20], "radius": [2.5, 3.0]}.get(name)
    plan = _plan(name, requested)
    draws = _draws()
    scenes = sweep_scenes(plan, draws, plan.grid_values, object_index=1)
    assert scenes.batch_size == len(plan.grid_values)
    own = draws[0].select(torch.zeros(scenes.batch_size, dtype=torch.long))
    changed = {n for n in FIELD_NAMES if not torch.equal(getattr(scenes, n), getattr(own, n))}
    assert changed - {"object_present"} == CHANGES[name] - {"object_present"}
    assert changed <= CHANGES[name]
    if name in ("rotation", "translation_x", "scale", "shape", "turntable", "recolour"):  # only object slot 1 moves
        field = next(iter(CHANGES[name] - {"object_present"}))
        for slot in (0, 2):
            assert torch.equal(getattr(scenes, field)[:, slot], getattr(own, field)[:, slot])
        assert scenes.object_present[:, 1].all()


def test_values_land_on_the_knob_in_degrees_and_scene_units():
    draws = _draws()
    elevation = _plan("elevation", [0, 40])
    assert elevation.grid_values.tolist() == [0, 10, 20, 30, 40]
    scenes = sweep_scenes(elevation, draws, elevation.grid_values, 0)
    assert scenes.camera_elevation_deg.tolist() == [0, 10, 20, 30, 40]
    up = _plan("translation_y", [0.0, 0.2])
    assert torch.allclose(sweep_scenes(up, draws, up.grid_values, 0).object_translation[:, 0, 1], up.grid_values)
    shape = _plan("shape")
    codes = sweep_scenes(shape, draws, shape.grid_values, 0).object_shape[:, 0]
    assert torch.equal(codes[0], draws[0].object_shape[0, 0])  # t = 0: the seed's own code
    torch.testing.assert_close(codes[-1], draws[1].object_shape[0, 0])  # t = 1: the seed's next draw


def test_turntables_loop_seamlessly_from_the_sample_as_drawn():
    plan = _plan("turntable", frames=48)
    assert torch.allclose(plan.video_values, torch.arange(48) * 7.5)  # frame 48 would be 360 = frame 0
    draws = _draws()
    scenes = sweep_scenes(plan, draws, plan.video_values, None)
    assert torch.equal(scenes.object_rotation_deg[0], draws[0].object_rotation_deg[0])
    orbit = _plan("orbit", frames=30)
    assert orbit.video_values[1] == 12 and orbit.video_values[-1] == 348


def test_whole_turns_leave_out_their_end_and_other_videos_go_there_and_back():
    full = _plan("rotation", [0, 360], steps=4)
    assert full.grid_values.tolist() == [0, 90, 180, 270]
    partial = _plan("rotation", steps=3, frames=8)  # the prior: [-30, 30]
    assert partial.grid_values.tolist() == [-30, 0, 30]
    assert partial.video_values[0] == -30 and partial.video_values[4] == 30
    assert torch.allclose(partial.video_values[1:4], partial.video_values[5:].flip(0))  # symmetric: loops


def test_discrete_sweeps_show_each_choice():
    objects = _plan("objects", frames=12)
    assert objects.grid_values.tolist() == [0, 1, 2, 3]  # none, then objects added one by one
    scenes = sweep_scenes(objects, _draws(), objects.grid_values, 0)
    assert scenes.object_present.sum(dim=1).tolist() == [0, 1, 2, 3]
    assert objects.video_values.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    background = _plan("background", steps=4)
    draws = _draws()
    swapped = sweep_scenes(background, draws, background.grid_values, 0).background_shape
    assert all(torch.equal(swapped[k], draws[k].background_shape[0]) for k in range(4))


def test_recolour_gives_one_object_the_appearance_of_each_next_draw_and_remove_takes_each_object_out():
    draws = _draws()
    recolour = _plan("recolour", steps=4)
    assert recolour.num_targets == 3  # the seed's own code, then those of its next three draws
    codes = sweep_scenes(recolour, draws, recolour.grid_values, 2).object_appearance
    assert all(torch.equal(codes[k, 2], draws[k].object_appearance[0, 2]) for k in range(4))
    assert torch.equal(codes[:, :2], draws[0].object_appearance[:, :2].expand(4, -1, -1))  # the others keep theirs
    every = sweep_scenes(recolour, draws, recolour.grid_values, None).object_appearance
    assert all(torch.equal(every[k], draws[k].object_appearance[0]) for k in range(4))
    remove = _plan("remove", frames=8)
    assert remove.grid_values.tolist() == [0, 1, 2, 3]  # every object, then without object 0, 1, 2
    present = sweep_scenes(remove, draws, remove.grid_values, 0).object_present
    assert present.tolist() == [[True] * 3, [False, True, True], [True, False, True], [True, True, False]]


def test_extrapolation_widens_default_ranges_and_explicit_ranges_may_leave_the_prior():
    assert _plan("elevation", extrapolate=0.5).range == (0.0, 40.0)
    assert _plan("elevation", extrapolate=10).range == (-90.0, 90.0)  # clamped to where elevation makes sense
    plan = _plan("elevation", [0, 60])
    assert plan.range == (0.0, 60.0) and "beyond the training prior [10, 30]" in plan.note


@pytest.mark.parametrize(
    ("name", "requested", "message"),
    [
        ("elevation", [20, 20], r"sweep.elevation is an empty range \[20, 20\]"),
        ("elevation", [30, 0], r"sweep.elevation is an inverted range \[30, 0\]"),
        ("elevation", [0, 100], r"sweep.elevation must be within \[-90, 90\]"),
        ("radius", [-1, 2], "sweep.radius must be positive"),
        ("elevation", [1, 2, 3], r"sweep.elevation must be a \[low, high\] pair"),
        ("background", [0, 1], "sweep.background takes no range"),
        ("azimuth", None, "the training prior fixes camera azimuth at 0; give a range, e.g. sweep.azimuth="),
    ],
)
def test_bad_ranges_are_named(name, requested, message):
    with pytest.raises(ValueError, match=message):
        _plan(name, requested)


def test_auto_picks_what_the_prior_varies_and_names_are_checked():
    plans, notes = plan_sweeps("auto", {}, PRIOR, 3, 4)
    names = [p.name for p in plans]
    assert "elevation" in names and "objects" in names and "turntable" in names and "orbit" in names
    assert "azimuth" not in names and any("skipping azimuth" in n for n in notes)
    plans, _ = plan_sweeps("auto", {"azimuth": [0, 30]}, PRIOR, 3, 4)
    assert "azimuth" in [p.name for p in plans]
    single, _ = plan_sweeps("auto", {}, ScenePrior(z_dim=4), 3, 4)
    assert "objects" in names and "remove" in names and "recolour" in names
    assert "objects" not in [p.name for p in single] and "remove" not in [p.name for p in single]
    with pytest.raises(ValueError, match="unknown sweep 'tilt' in sweeps"):
        plan_sweeps(["elevation", "tilt"], {}, PRIOR, 3, 4)
    with pytest.raises(ValueError, match="sweeps is empty"):
        plan_sweeps([], {}, PRIOR, 3, 4)
