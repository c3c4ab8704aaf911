import json

import torch

from giraffehd.scene import FIELD_NAMES, ScenePrior
from giraffehd.scene_json import scene_from_json, scene_to_json


def test_scenes_round_trip_through_json_text_bit_for_bit():
    prior = ScenePrior(num_objects=3, min_objects=1, z_dim=5)
    scene = prior.sample(4, torch.Generator().manual_seed(1))
    # Values with long decimal expansions and extremes of float32.
    awkward = torch.tensor([1 / 3, 0.1, 1e-38, 3.4e38], dtype=torch.float32)
    scene = scene.replace(camera_elevation_deg=awkward, camera_radius=awkward.flip(0) + 2.732)
    text = json.dumps(scene_to_json(scene))
    back = scene_from_json(json.loads(text))
    for name in FIELD_NAMES:
        original, restored = getattr(scene, name), getattr(back, name)
        assert restored.dtype == original.dtype and torch.equal(restored, original), name


def test_one_record_reads_as_a_batch_of_one():
    scene = ScenePrior(z_dim=3).sample(2, torch.Generator().manual_seed(0))
    second = scene_from_json(scene_to_json(scene)[1])
    assert second.batch_size == 1
    assert torch.equal(second.object_shape[0], scene.object_shape[1])
