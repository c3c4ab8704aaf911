"""The viewer's state: a plain record of knob values that turns into the same scene every time."""

import torch

from giraffehd.knobs import all_knobs
from giraffehd.scene import ScenePrior
from giraffehd.viewer.state import Code, blend, code, initial_state, scene_of

PRIOR = ScenePrior(num_objects=3, z_dim=6, elevation_deg=[10, 30], scale=[[0.2, 0.3], [0.1, 0.1], [0.4, 0.5]])


def test_the_first_scene_takes_the_priors_draw_of_its_seed():
    state = initial_state(PRIOR, 4)
    drawn = PRIOR.sample(1, torch.Generator().manual_seed(4))
    scene = scene_of(state, PRIOR)
    for name in ("camera_azimuth_deg", "camera_elevation_deg", "camera_radius", "object_rotation_deg"):
        assert torch.equal(getattr(scene, name), getattr(drawn, name)), name
    assert torch.equal(scene.object_translation, drawn.object_translation)
    assert scene.object_present.all()
    # Scale is one multiple of the mean box per object: the knob registry reads the same multiple.
    assert torch.allclose(all_knobs(PRIOR)["scale"].read(scene, 1), all_knobs(PRIOR)["scale"].read(drawn, 1))


def test_codes_are_named_by_seeds_and_blend_linearly():
    assert torch.equal(code(7, 6), torch.randn(6, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(blend(Code(7, 8, 0.0), 6), code(7, 6))
    assert torch.allclose(blend(Code(7, 8, 1.0), 6), code(8, 6))
    assert torch.allclose(blend(Code(7, 8, 0.25), 6), 0.75 * code(7, 6) + 0.25 * code(8, 6))
    state = initial_state(PRIOR, 0)
    seeds = [o.shape.seed for o in state.objects] + [o.appearance.seed for o in state.objects]
    seeds += [state.background_shape.seed, state.background_appearance.seed]
    assert len(set(seeds)) == len(seeds)  # no two codes of a scene are the same vector


def test_a_state_makes_the_same_scene_every_time_and_changes_only_what_changed():
    state = initial_state(PRIOR, 1)
    a, b = scene_of(state, PRIOR), scene_of(state, PRIOR)
    assert all(torch.equal(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    moved = scene_of(state.replace_object(2, rotation_deg=45.0, present=False), PRIOR)
    assert moved.object_rotation_deg[0, 2] == 45.0 and not moved.object_present[0, 2]
    assert torch.equal(moved.object_rotation_deg[0, :2], a.object_rotation_deg[0, :2])
    assert torch.equal(moved.object_shape, a.object_shape)
