import math

import pytest
import torch

from giraffehd.rendering.ray_sampling import intersect_box, sample_depths, sample_in_boxes
from giraffehd.rendering.rays import Rays
from giraffehd.rendering.transforms import BoxTransform, rotation_about_up


def _rays(origins, directions) -> Rays:
    directions = torch.nn.functional.normalize(torch.tensor(directions, dtype=torch.float32), dim=-1)
    return Rays(origins=torch.tensor(origins, dtype=torch.float32), directions=directions)


def test_axis_aligned_entry_and_exit():
    rays = _rays([[0.0, 0.0, 5.0], [0.3, -0.2, 5.0], [0.0, 3.0, 0.0]], [[0, 0, -1], [0, 0, -1], [0, -1, 0]])
    hits = intersect_box(rays)
    torch.testing.assert_close(hits.near, torch.tensor([4.0, 4.0, 2.0]))
    torch.testing.assert_close(hits.far, torch.tensor([6.0, 6.0, 4.0]))
    assert hits.hit.all()
    half = intersect_box(rays, half_size=0.5)
    torch.testing.assert_close(half.near[:2], torch.tensor([4.5, 4.5]))


def test_diagonal_ray_through_corners():
    rays = _rays([[-3.0, -3.0, -3.0]], [[1, 1, 1]])
    hits = intersect_box(rays)
    assert hits.near.item() == pytest.approx(2 * math.sqrt(3), rel=1e-5)
    assert hits.far.item() == pytest.approx(4 * math.sqrt(3), rel=1e-5)


def test_ray_starting_inside_enters_at_zero():
    hits = intersect_box(_rays([[0.2, 0.0, 0.0]], [[1, 0, 0]]))
    assert hits.near.item() == 0.0 and hits.far.item() == pytest.approx(0.8)


def test_misses_are_flagged_with_empty_range():
    rays = _rays(
        [[2.0, 0.0, 5.0], [0.0, 0.0, 5.0], [0.0, 1.5, 5.0], [3.0, 3.0, 0.0]],
        [[0, 0, -1], [0, 0, 1], [0, 0, -1], [1, 1, 0]],
    )  # beside the box, pointing away, above the box, diagonal away from it
    hits = intersect_box(rays)
    assert not hits.hit.any()
    assert torch.all(hits.near == 0) and torch.all(hits.far == 0)


def test_rotated_scaled_translated_box():
    # A unit box turned 45 degrees about up: its corners lie sqrt(2) from the centre along z.
    transform = BoxTransform(
        scale=torch.ones(1, 2, 3) * torch.tensor([[[1.0], [0.5]]]),
        rotation=rotation_about_up(torch.tensor([[45.0, 0.0]])),
        translation=torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]]),
    )
    rays = _rays([[[0.0, 0.0, 5.0], [1.0, 0.0, 5.0]]], [[[0, 0, -1], [0, 0, -1]]])
    samples = sample_in_boxes(rays, transform, num_samples=4)
    near = samples.depths[..., 0] - samples.deltas[..., 0] / 2
    far = samples.depths[..., -1] + samples.deltas[..., -1] / 2
    # Object 0 (rotated) on ray 0; object 1 (scale 0.5 at x = 1) on ray 1.
    assert near[0, 0, 0].item() == pytest.approx(5 - math.sqrt(2), rel=1e-5)
    assert far[0, 0, 0].item() == pytest.approx(5 + math.sqrt(2), rel=1e-5)
    assert near[0, 1, 1].item() == pytest.approx(4.5) and far[0, 1, 1].item() == pytest.approx(5.5)
    # Ray 1 (x = 1 < sqrt(2)) still crosses the rotated box; ray 0 (x = 0) misses the small box at x = 1.
    assert samples.hit[0, 0, 1] and not samples.hit[0, 1, 0]


def test_midpoint_sampling_is_deterministic_bin_centres():
    samples = sample_depths(torch.tensor([1.0]), torch.tensor([3.0]), 4)
    torch.testing.assert_close(samples.depths, torch.tensor([[1.25, 1.75, 2.25, 2.75]]))
    torch.testing.assert_close(samples.deltas, torch.full((1, 4), 0.5))


def test_stratified_sampling_stays_in_bins_and_is_seeded():
    near, far = torch.zeros(100), torch.full((100,), 8.0)

    def draw(seed):
        return sample_depths(near, far, 8, stratified=True, rng=torch.Generator().manual_seed(seed)).depths

    depths = draw(1)
    bins = torch.arange(8.0)
    assert torch.all(depths >= bins) and torch.all(depths < bins + 1)
    torch.testing.assert_close(depths, draw(1), rtol=0, atol=0)
    assert not torch.equal(depths, draw(2))
    assert (depths - bins - 0.5).abs().mean() > 0.1  # actually jittered


def test_stratified_sampling_requires_a_generator():
    with pytest.raises(ValueError, match="Generator"):
        sample_depths(torch.zeros(1), torch.ones(1), 4, stratified=True)


def test_box_samples_lie_inside_the_box_and_fill_it():
    g = torch.Generator().manual_seed(3)
    transform = BoxTransform(
        scale=torch.full((2, 3, 3), 0.3),
        rotation=rotation_about_up(torch.rand(2, 3, generator=g) * 360),
        translation=(torch.rand(2, 3, 3, generator=g) - 0.5),
    )
    rays = Rays(
        origins=torch.tensor([0.0, 0.0, 3.0]).expand(2, 64, 3),
        directions=torch.nn.functional.normalize(
            torch.tensor([0.0, 0.0, -1.0]) + 0.25 * (torch.rand(2, 64, 3, generator=g) - 0.5), dim=-1
        ),
    )
    samples = sample_in_boxes(rays, transform, num_samples=6, stratified=True, rng=g)
    inside = samples.points[samples.hit].abs().amax(dim=-1)
    assert samples.hit.any() and (~samples.hit).any()
    assert torch.all(inside <= 1 + 1e-4)
    assert torch.all(samples.deltas[~samples.hit] == 0)
