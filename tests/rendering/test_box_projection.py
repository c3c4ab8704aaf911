import math

import pytest
import torch
from conftest import tiny_generator

from giraffehd.rendering.box_projection import (
    box_corners,
    projected_box_mask,
    projected_box_rects,
    rects_to_mask,
    rects_to_masks,
)
from giraffehd.scene import ScenePrior


def _scene(num_objects=1, batch=1, **fixed):
    prior = ScenePrior(num_objects=num_objects, z_dim=4)
    defaults = dict(
        camera_azimuth_deg=0.0,
        camera_elevation_deg=0.0,
        camera_radius=2.732,
        camera_fov_deg=30.0,
        object_rotation_deg=0.0,
        object_translation=0.0,
        object_scale=0.5,
        object_present=True,
    )
    return prior.sample(batch, torch.Generator().manual_seed(0), **{**defaults, **fixed})


def _focal(fov_deg, resolution):
    return 0.5 * resolution / math.tan(math.radians(fov_deg) / 2)


@pytest.mark.parametrize("pad", [0.0, 0.1])
def test_centred_cube_closed_form(pad):
    # Camera on +z at distance r; the nearest face (z = s) projects widest: half size f * s / (r - s).
    r, s, fov, res = 2.732, 0.5 * (1 + pad), 30.0, 32
    half = _focal(fov, res) * s / (r - s)
    rects = projected_box_rects(_scene(), res, pad=pad)
    expected = torch.tensor([[[16 - half, 16 - half, 16 + half, 16 + half]]])
    torch.testing.assert_close(rects, expected)


def test_rotated_and_translated_closed_forms():
    r, s, res = 2.732, 0.5, 32
    f = _focal(30.0, res)
    # Rotated 45 degrees: the widest corners are at x = +-s sqrt(2), z = 0; the tallest at z = s sqrt(2).
    rects = projected_box_rects(_scene(object_rotation_deg=45.0), res)[0, 0]
    hu, hv = f * s * math.sqrt(2) / r, f * s / (r - s * math.sqrt(2))
    torch.testing.assert_close(rects, torch.tensor([16 - hu, 16 - hv, 16 + hu, 16 + hv]))
    # Shifted by t along +x (right in the image) and +y (up: smaller v); both extremes on the nearest face.
    t = 0.2
    rects = projected_box_rects(_scene(object_translation=[t, t, 0.0]), res)[0, 0]
    lo, hi = f * (t - s) / (r - s), f * (t + s) / (r - s)
    torch.testing.assert_close(rects, torch.tensor([16 + lo, 16 - hi, 16 + hi, 16 - lo]))


def test_mask_tests_pixel_centres():
    rects = torch.tensor([[[1.0, 2.0, 3.6, 2.5], [0.0, 0.0, 0.0, 0.0]]])
    mask = rects_to_mask(rects, 6)
    expected = torch.zeros(1, 1, 6, 6)
    expected[0, 0, 2, 1:4] = 1.0  # columns with centres 1.5, 2.5, 3.5; the row with centre 2.5 (edge included)
    torch.testing.assert_close(mask, expected)
    # The mask of a scene is the union of its objects' rectangles.
    scene = _scene(num_objects=2, object_translation=[[-0.6, 0.0, 0.0], [0.6, 0.3, 0.0]], object_scale=0.2)
    union = projected_box_mask(scene, 16)
    rects = projected_box_rects(scene, 16)
    per_object = [rects_to_mask(rects[:, k : k + 1], 16) for k in range(2)]
    torch.testing.assert_close(union, torch.maximum(*per_object))
    assert per_object[0].sum() > 0 and per_object[1].sum() > 0 and (per_object[0] * per_object[1]).sum() == 0


def test_absent_objects_contribute_nothing():
    translation = [[-0.6, 0.0, 0.0], [0.6, 0.0, 0.0]]
    both = _scene(num_objects=2, object_translation=translation, object_scale=0.2)
    one = both.replace(object_present=[[True, False]])
    moved = one.replace(object_translation=[[-0.6, 0.0, 0.0], [0.0, 0.5, 0.3]], object_scale=[[0.2] * 3, [0.9] * 3])
    assert torch.all(projected_box_rects(one, 16)[0, 1] == 0)
    torch.testing.assert_close(projected_box_mask(one, 16), projected_box_mask(moved, 16))
    assert projected_box_mask(both, 16).sum() > projected_box_mask(one, 16).sum()
    assert projected_box_mask(both.replace(object_present=False), 16).sum() == 0


def test_rotating_an_elongated_box_by_90_degrees_swaps_its_rectangle():
    # From straight above, u follows world x and v world z: a quarter turn transposes the rectangle.
    scene = _scene(camera_elevation_deg=90.0, object_scale=[0.6, 0.2, 0.2])
    a = projected_box_rects(scene, 32)[0, 0] - 16
    b = projected_box_rects(scene.replace(object_rotation_deg=90.0), 32)[0, 0] - 16
    width, height = a[2] - a[0], a[3] - a[1]
    assert width > 2.5 * height
    torch.testing.assert_close(b, a[[1, 0, 3, 2]])
    # Seen from the side, the long box is wide; end-on after the quarter turn it is square.
    side = projected_box_rects(_scene(object_scale=[0.6, 0.2, 0.2]), 32)[0, 0]
    end_on = projected_box_rects(_scene(object_scale=[0.6, 0.2, 0.2], object_rotation_deg=90.0), 32)[0, 0]
    assert side[2] - side[0] > 2.5 * (side[3] - side[1])
    torch.testing.assert_close(end_on[2] - end_on[0], end_on[3] - end_on[1])


def test_objects_behind_or_around_the_camera():
    behind = _scene(object_translation=[0.0, 0.0, 5.0], object_scale=0.2)  # camera at z = 2.732 looks to -z
    assert torch.all(projected_box_rects(behind, 16) == 0)
    assert projected_box_mask(behind, 16).sum() == 0
    around = _scene(object_translation=[0.0, 0.0, 2.732], object_scale=0.3)  # the camera is inside the box
    torch.testing.assert_close(projected_box_rects(around, 16)[0, 0], torch.tensor([0.0, 0.0, 16.0, 16.0]))
    assert projected_box_mask(around, 16).sum() == 16 * 16


def test_box_corners_and_argument_checks():
    corners = box_corners(0.1)
    assert corners.shape == (8, 3) and torch.all(corners.abs() == 1.1)
    assert len({tuple(c.tolist()) for c in corners}) == 8
    with pytest.raises(ValueError, match="resolution"):
        projected_box_rects(_scene(), 0)
    with pytest.raises(ValueError, match="pad"):
        projected_box_rects(_scene(), 16, pad=-1.0)


def test_generator_alpha_lies_inside_each_objects_box():
    g = tiny_generator("feature_resolution=16")
    prior = ScenePrior(
        num_objects=2,
        min_objects=1,
        z_dim=g.z_dim,
        azimuth_deg=[-180, 180],
        elevation_deg=[0, 60],
        fov_deg=[20, 40],
        translation=[[-0.4, 0.4], [-0.2, 0.2], [-0.4, 0.4]],
        scale=[[0.15, 0.4], [0.15, 0.4], [0.15, 0.4]],
        joint_scale=False,
    )
    scene = prior.sample(6, torch.Generator().manual_seed(3))
    with torch.no_grad():
        out = g(scene)
    rects = projected_box_rects(scene, 16)
    for k in range(2):
        box = rects_to_mask(rects[:, k : k + 1], 16)
        alpha = out.object_alpha[:, k : k + 1]
        assert torch.all(alpha * (1 - box) == 0), k
        present = scene.object_present[:, k]
        assert torch.all((alpha * box).sum(dim=(1, 2, 3))[present] > 0), k  # the object is seen in its box
    union = projected_box_mask(scene, 16)
    assert torch.all(out.low_res_alpha * (1 - union) == 0)
    assert 0 < union.mean() < 1


def test_each_rectangle_alone_and_their_union():
    rects = torch.tensor([[[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 4.0, 3.0], [0.0, 0.0, 0.0, 0.0]]])
    masks = rects_to_masks(rects, 4)
    assert masks.shape == (1, 3, 4, 4)
    assert masks[0, 0].sum() == 4 and masks[0, 0, :2, :2].all()
    assert masks[0, 1].sum() == 6 and masks[0, 1, 1:3, 1:].all()
    assert masks[0, 2].sum() == 0  # an absent object's zero rectangle covers no pixel centre
    assert torch.equal(rects_to_mask(rects, 4), masks.amax(dim=1, keepdim=True))
