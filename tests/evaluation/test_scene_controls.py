"""Per-object control measures, checked end to end on a dot renderer whose reading is exact.

The dot source draws each present object as one pixel at its projected centre, coloured by its
appearance code; the dot reader finds those pixels. A generator with perfect per-object knobs therefore
scores zero error, full counts and full isolation; sources with a broken knob must score worse.
"""

import pytest
import torch

from giraffehd.evaluation.scenes.controls import (
    SceneProtocol,
    colour_control,
    count_accuracy,
    translation_control,
)
from giraffehd.evaluation.scenes.evaluator import ObjectReading
from giraffehd.evaluation.scenes.geometry import match, projected_centres, read_at, separated, separated_scenes
from giraffehd.evaluation.scenes.isolation import changed_pixels, dilate, edited_scenes, isolation
from giraffehd.evaluation.sources import Rendered
from giraffehd.scene import ScenePrior

RES = 64
PRIOR = ScenePrior(
    num_objects=3, min_objects=1, z_dim=2, azimuth_deg=[0, 0], elevation_deg=[30, 30], fov_deg=[30, 30],
    translation=[[-0.5, 0.5], [0, 0], [-0.5, 0.5]], scale=[[0.1, 0.1]] * 3,
)  # fmt: skip
COLOURS = torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])  # [-1, 1] images
PROTOCOL = SceneProtocol(num_scenes=6, sweep_steps=5, min_separation_px=6.0, batch_size=8)


def dot_source(scene, ignore_slot=None, stuck=False, background_dot=False):
    """One pixel per present object at its projected centre (slot ``ignore_slot`` not drawn; ``stuck``:
    x moves are ignored) in the colour its appearance code's sign picks; ``background_dot``: the
    background paints one more dot in a corner, whatever the objects."""
    shown = scene if not stuck else scene.replace(object_translation=torch.zeros_like(scene.object_translation))
    centres = projected_centres(shown, RES).floor().long().clamp(0, RES - 1)
    colour = (scene.object_appearance[..., 0] > 0).long() + (scene.object_appearance[..., 1] > 0).long()
    image = -torch.ones(scene.batch_size, 3, RES, RES)
    if background_dot:
        image[:, :, 1, 1] = COLOURS[0]
    for b in range(scene.batch_size):
        for n in range(scene.num_objects):
            if scene.object_present[b, n] and n != ignore_slot:
                x, y = centres[b, n].tolist()
                image[b, :, y, x] = COLOURS[colour[b, n]]
    return Rendered(image, (image > -1).any(dim=1, keepdim=True).float())


def dot_reader(images):
    readings = []
    for image in images:
        ys, xs = torch.nonzero((image > 0).any(dim=0), as_tuple=True)
        masks = torch.zeros(len(ys), RES, RES, dtype=torch.bool)
        masks[torch.arange(len(ys)), ys, xs] = True
        colour = image[:, ys, xs].argmax(dim=0)
        centres = torch.stack([xs, ys], dim=-1).float() + 0.5
        readings.append(ObjectReading(centres, torch.zeros(len(ys), dtype=torch.long), colour, masks))
    return readings


@pytest.fixture(scope="module")
def scenes():
    return separated_scenes(PRIOR, PROTOCOL.num_scenes, 0, RES, PROTOCOL.min_separation_px)


def test_separated_scenes_keep_every_object_present_and_apart(scenes):
    assert scenes.object_present.all()
    distance = torch.cdist(projected_centres(scenes, RES), projected_centres(scenes, RES))
    assert (distance + torch.eye(3) * 1e9 >= PROTOCOL.min_separation_px).all()
    centres = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [20.0, 0.0]]])
    present = torch.tensor([[True, True, True]])
    assert separated(centres, present, 5.0).item() and not separated(centres, present, 5.1).item()
    assert separated(centres, torch.tensor([[True, False, True]]), 5.1).item()  # an absent object is no neighbour


def test_matching_ties_each_expected_object_to_one_found_object():
    expected = torch.tensor([[0.0, 0.0], [12.0, 0.0], [20.0, 0.0]])
    found = torch.tensor([[19.0, 1.0], [1.0, 0.0]])
    assert match(expected, found).tolist() == [1, -1, 0]
    reading = ObjectReading(found, torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long),
                            torch.zeros(2, 4, 4, dtype=torch.bool))  # fmt: skip
    centres, assigned = read_at(reading, expected)
    assert assigned.tolist() == [1, -1, 0]
    assert centres[1].tolist() == [19.0, 1.0]  # unmatched: read at the nearest found object


def test_pixel_changes_and_dilation_by_hand():
    before = -torch.ones(1, 3, 4, 4)  # 8-bit level 0
    after = before.clone()
    after[0, 1, 2, 3] += 1.2 * 2 / 255  # 1.2 levels: rounds to 1 level, not a change
    after[0, 0, 0, 0] += 2 * 2 / 255  # 2 levels
    assert torch.nonzero(changed_pixels(before, after, 1)[0]).tolist() == [[0, 0]]
    mask = torch.zeros(5, 5, dtype=torch.bool)
    mask[2, 2] = True
    assert dilate(mask, 1).sum() == 9 and dilate(mask, 0).sum() == 1


def test_edits_change_only_the_target_object(scenes):
    target, partner = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([1, 2, 0, 2, 0, 1])
    rows = torch.arange(6)
    moved = edited_scenes(scenes, "move", partner, target, torch.full((6,), 0.25))
    assert (moved.object_translation[rows, target, 0] == 0.25).all()
    others = torch.ones(6, 3, dtype=torch.bool)
    others[rows, target] = False
    assert torch.equal(moved.object_translation[others], scenes.object_translation[others])
    recoloured = edited_scenes(scenes, "recolour", partner, target, torch.zeros(6))
    assert torch.equal(recoloured.object_appearance[rows, target], scenes.object_appearance[rows, partner])
    assert torch.equal(recoloured.object_appearance[others], scenes.object_appearance[others])
    removed = edited_scenes(scenes, "remove", partner, target, torch.zeros(6))
    assert not removed.object_present[rows, target].any() and removed.object_present[others].all()
    with pytest.raises(ValueError, match="unknown edit 'tilt'"):
        edited_scenes(scenes, "tilt", partner, target, torch.zeros(6))


def test_a_perfect_source_scores_full_counts_no_error_and_full_isolation(scenes):
    counts = count_accuracy(dot_source, dot_reader, scenes, 8)
    assert counts.overall == 1.0 and counts.per_count == {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}
    assert counts.chance == 0.25  # a uniform guess among 0..3
    moved = translation_control(dot_source, dot_reader, scenes, (-0.5, 0.5), PROTOCOL, RES)
    assert moved.error_px <= 0.75 and moved.chance_px > 5 and moved.frames > 0  # a dot is off by rounding only
    for result in isolation(dot_source, dot_reader, scenes, (-0.5, 0.5), PROTOCOL, RES):
        assert result.other_pixels_changed == 0.0 and result.other_shift_px == 0.0, result.edit
        assert result.chance_pixels > 0 and result.chance_shift_px > 5
    colours = colour_control(dot_source, dot_reader, scenes, PROTOCOL, RES, num_colours=3)
    assert colours.swapped_reads_target == 1.0 and colours.others_keep == 1.0


def test_broken_knobs_score_worse(scenes):
    one_dead_slot = count_accuracy(lambda s: dot_source(s, ignore_slot=2), dot_reader, scenes, 8)
    assert one_dead_slot.per_count == {0: 1.0, 1: 1.0, 2: 1.0, 3: 0.0}
    painted = count_accuracy(lambda s: dot_source(s, background_dot=True), dot_reader, scenes, 8)
    assert painted.per_count == {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0}  # every frame reads one object too many
    stuck = translation_control(lambda s: dot_source(s, stuck=True), dot_reader, scenes, (-0.5, 0.5), PROTOCOL, RES)
    assert stuck.error_px > 5


def test_protocol_values_are_checked():
    with pytest.raises(ValueError, match="sweep_steps must be at least 2"):
        SceneProtocol(sweep_steps=1)
    with pytest.raises(ValueError, match="must not be negative"):
        SceneProtocol(min_separation_px=-1)
    with pytest.raises(ValueError, match="min_separation_px=200"):
        separated_scenes(PRIOR, 1, 0, RES, 200.0, max_draws=2048)
