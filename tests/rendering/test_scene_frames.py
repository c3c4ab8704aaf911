"""A scene's camera pose and object boxes, read from its knobs in the project's convention."""

import math

import torch

from giraffehd.rendering.scene_frames import scene_boxes, scene_pose
from giraffehd.rendering.transforms import box_to_world
from giraffehd.scene import ScenePrior


def test_the_pose_puts_the_camera_where_its_knobs_say():
    scene = ScenePrior(z_dim=2).sample(2, torch.Generator().manual_seed(0))
    scene = scene.replace(camera_azimuth_deg=[0.0, 90.0], camera_elevation_deg=[0.0, 30.0], camera_radius=[2.0, 4.0])
    position = scene_pose(scene)[:, :3, 3]
    torch.testing.assert_close(position[0], torch.tensor([0.0, 0.0, 2.0]))  # azimuth 0: on +z
    half = 4.0 * math.cos(math.radians(30))
    torch.testing.assert_close(position[1], torch.tensor([half, 2.0, 0.0]), atol=1e-5, rtol=0)  # 90: on +x, up 30


def test_the_boxes_carry_each_objects_scale_turn_and_place():
    scene = ScenePrior(z_dim=2).sample(1, torch.Generator().manual_seed(0))
    scene = scene.replace(
        object_scale=[[[0.5, 0.25, 0.1]]], object_rotation_deg=[[0.0]], object_translation=[[[1.0, 0.0, -1.0]]]
    )
    corner = box_to_world(torch.ones(1, 1, 1, 3), scene_boxes(scene))
    torch.testing.assert_close(corner[0, 0, 0], torch.tensor([1.5, 0.25, -0.9]))
