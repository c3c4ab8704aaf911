"""Silhouette measurement: IoU and boundary F-score against closed forms (discs, shifts, empty masks), bad
inputs refused by name, the zoomed figure's window, and the read-then-render path on the dataset's own
renders (its floor) against a source whose masks are known to be off."""

import math
from pathlib import Path

import pytest
import torch
from conftest import tiny_generator

from giraffehd.evaluation.car.render_candidates import dataset_candidate_spec, render_candidates
from giraffehd.evaluation.car.silhouette import (
    boundary_f_score,
    floor_silhouettes,
    mask_boundary,
    mask_iou,
    measure_silhouettes,
    model_silhouettes,
    resized_source,
)
from giraffehd.evaluation.car.silhouette_figure import edge_window, quantile_images, zoom_figure
from giraffehd.evaluation.labels import read_dataset
from giraffehd.evaluation.sources import Rendered, synthetic_source
from giraffehd.model_io import LoadedModel
from giraffehd.scene import ScenePrior


def disc(size: int, radius: float, centre: tuple[float, float]) -> torch.Tensor:
    """A (1, size, size) boolean disc; pixel centres at integer + 0.5."""
    y, x = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    return ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius**2)[None]


def test_iou_of_a_disc_and_a_shifted_disc_is_the_lens_area_over_the_union():
    r, d = 40.0, 15.0
    lens = 2 * r**2 * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r**2 - d**2)
    expected = lens / (2 * math.pi * r**2 - lens)
    iou = mask_iou(disc(128, r, (56.0, 64.0)), disc(128, r, (56.0 + d, 64.0)))
    assert iou.shape == (1,) and iou.item() == pytest.approx(expected, abs=0.005)


def test_a_mask_against_itself_scores_one():
    mask = torch.cat([disc(64, 20, (30, 30)), disc(64, 9, (10, 50))])
    score = boundary_f_score(mask, mask, 0)
    assert score.f_score.tolist() == score.precision.tolist() == score.recall.tolist() == [1.0, 1.0]
    assert mask_iou(mask, mask).tolist() == [1.0, 1.0]


def test_a_one_pixel_shift_is_within_two_pixels_but_not_zero():
    mask = disc(64, 20, (30, 32))
    shifted = mask.roll(1, dims=2)
    assert boundary_f_score(shifted, mask, 2).f_score.item() == 1.0
    assert boundary_f_score(shifted, mask, 1).f_score.item() == 1.0
    exact = boundary_f_score(shifted, mask, 0)
    assert exact.f_score.item() < 1 and exact.precision.item() < 1 and exact.recall.item() < 1
    # Five pixels is beyond two: the left and right edges no longer match.
    assert boundary_f_score(mask.roll(5, dims=2), mask, 2).f_score.item() < 0.8


def test_an_empty_prediction_scores_zero_and_two_empty_masks_agree():
    truth = disc(32, 10, (16, 16))
    empty = torch.zeros_like(truth)
    score = boundary_f_score(empty, truth, 2)
    assert (score.precision.item(), score.recall.item(), score.f_score.item()) == (0.0, 0.0, 0.0)
    assert mask_iou(empty, truth).item() == 0.0
    assert boundary_f_score(empty, empty, 2).f_score.item() == 1.0 and mask_iou(empty, empty).item() == 1.0


def test_the_boundary_is_the_inner_ring_and_the_image_frame_is_no_edge():
    square = torch.zeros(1, 10, 10, dtype=torch.bool)
    square[0, 2:7, 3:8] = True  # 5 x 5
    edge = mask_boundary(square)
    assert edge.sum().item() == 4 * 4 and (edge <= square).all() and not edge[0, 4, 5]
    assert not mask_boundary(torch.ones(1, 6, 6, dtype=torch.bool)).any()


def test_bad_inputs_are_refused_naming_the_argument():
    mask = disc(32, 10, (16, 16))
    with pytest.raises(ValueError, match=r"pred \(1, 32, 32\), true \(1, 32, 31\)"):
        boundary_f_score(mask, mask[..., :31], 2)
    with pytest.raises(ValueError, match="pred must be a boolean mask"):
        mask_iou(mask.float(), mask)
    with pytest.raises(ValueError, match=r"true must have shape \(B, H, W\)"):
        mask_iou(mask, mask[0])
    with pytest.raises(ValueError, match="tolerance_px must be at least 0"):
        boundary_f_score(mask, mask, -1)


def test_the_figure_window_sits_on_the_roof_line_and_picks_middling_images():
    square = torch.zeros(128, 128, dtype=torch.bool)
    square[70:100, 20:61] = True
    assert edge_window(square, 64) == (70 - 32, 40 - 32)
    assert edge_window(torch.zeros(128, 128, dtype=torch.bool), 64) == (32, 32)
    corner = torch.zeros(128, 128, dtype=torch.bool)
    corner[:10, :10] = True
    assert edge_window(corner, 64) == (0, 0)  # moved inside the image
    assert quantile_images(torch.tensor([0.9, 0.1, 0.5, 0.7, 0.3, 0.2, 0.8, 0.6]), 3) == [4, 7, 6]
    images = torch.rand(2, 3, 128, 128)
    grid = zoom_figure([images, images], square.expand(2, -1, -1), [1, 0], size=16, zoom=4)
    assert grid.shape == (3, 2 * 64 + 3 * 4, 2 * 64 + 3 * 4)
    torch.testing.assert_close(grid[:, 4:8, 4:8], images[1, :, 62:63, 32:33].expand(3, 4, 4))


@pytest.fixture(scope="module")
def dataset(images):
    return read_dataset(images.parent)


@pytest.fixture(scope="module")
def candidates(dataset):
    return render_candidates(dataset_candidate_spec(dataset, 15.0, 5.0, elevation_margin_deg=0.0, resolution=16))


def test_true_renders_read_back_match_their_own_masks_and_a_shifted_mask_does_not(dataset, candidates):
    floor = floor_silhouettes(dataset, 4, 0, candidates, resolution=32)
    scores = floor.scores
    assert scores.num_images == 4 and scores.tolerance_px == 2.0
    assert scores.mean_iou > 0.85 and scores.mean_f > 0.9 and scores.share_f_below() == 0.0
    assert floor.truth.mask.shape == floor.rendered.mask.shape == (4, 1, 32, 32)
    source = synthetic_source(dataset, 32)

    def off(scene):  # the right image (so the same pose is read), its mask 4 px to the right
        out = source(scene)
        return Rendered(out.image, out.mask.roll(4, dims=3))

    scenes = dataset.prior.sample(4, torch.Generator().manual_seed(0))
    shifted = measure_silhouettes(off, scenes, candidates, resolution=32).scores
    assert shifted.mean_f < scores.mean_f - 0.2 and shifted.mean_iou < scores.mean_iou - 0.1
    torch.testing.assert_close(shifted.heading_deg, scores.heading_deg)


def test_a_model_is_rendered_resized_and_scored_per_image(candidates):
    generator = tiny_generator().eval()
    prior = ScenePrior(z_dim=generator.z_dim, elevation_deg=[10, 30], translation=[[0, 0]] * 3)
    model = LoadedModel(generator, prior, {}, 0, Path("tiny.pt"))
    scenes = prior.sample(2, torch.Generator().manual_seed(1))
    measured = model_silhouettes(model, scenes, candidates, resolution=48)
    assert measured.rendered.image.shape == measured.truth.image.shape == (2, 3, 48, 48)
    for values in (measured.scores.iou, measured.scores.boundary.f_score):
        assert values.shape == (2,) and ((values >= 0) & (values <= 1)).all()
    with pytest.raises(ValueError, match="codes of 1 dimensions"):
        model_silhouettes(model, ScenePrior(z_dim=1).sample(2, torch.Generator()), candidates, resolution=48)
    same = resized_source(lambda scene: Rendered(torch.zeros(1, 3, 8, 8), torch.ones(1, 1, 8, 8)), 8)(scenes)
    assert same.image.shape == (1, 3, 8, 8)
