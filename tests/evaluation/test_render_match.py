"""Render-and-match against closed forms (the colour fit, the parabola, the camera geometry) and on the
dataset's own renders: known angles come back within the grid step, a wrong image scores poorly, and
inputs it cannot read stop with one line."""

import dataclasses
import math

import pytest
import torch

from giraffehd.data.synthetic.renderer import render_synthetic
from giraffehd.evaluation.car.controls import sweep_values, swept_error
from giraffehd.evaluation.car.placement import centre_offsets
from giraffehd.evaluation.car.render_candidates import (
    CandidateSpec,
    RenderMatchError,
    cached_candidates,
    candidate_scenes,
    dataset_candidate_spec,
    render_candidates,
)
from giraffehd.evaluation.car.render_match import (
    apparent_view,
    colour_fit_residuals,
    match,
    match_reader,
    parabola_vertex,
)
from giraffehd.evaluation.labels import SyntheticDataset, read_dataset
from giraffehd.evaluation.sources import synthetic_source
from giraffehd.scene import ScenePrior

HEADING_STEP, ELEVATION_STEP = 15.0, 5.0


@pytest.fixture(scope="module")
def dataset(images):
    return read_dataset(images.parent)


@pytest.fixture(scope="module")
def candidates(dataset):
    """A coarse, small grid (16 px) that keeps the test quick."""
    spec = dataset_candidate_spec(dataset, HEADING_STEP, ELEVATION_STEP, elevation_margin_deg=0.0, resolution=16)
    return render_candidates(spec)


def scenes_at(dataset: SyntheticDataset, headings, elevations, translations):
    n = len(headings)
    prior = dataclasses.replace(dataset.prior, translation=[[-0.04, 0.04], [0, 0], [-0.04, 0.04]])
    return prior.sample(n, torch.Generator().manual_seed(7)).replace(
        object_rotation_deg=torch.tensor(headings)[:, None],
        camera_elevation_deg=torch.tensor(elevations),
        object_translation=torch.tensor(translations)[:, None],
    )


def test_the_colour_fit_recovers_any_body_colour_exactly():
    rng = torch.Generator().manual_seed(0)
    fixed, body = torch.rand(4, 2, 3, 8, 8, generator=rng), torch.rand(4, 2, 8, 8, generator=rng)
    colour = torch.tensor([0.8, 0.1, 0.5])
    query = (fixed[2] + body[2][:, None] * colour[:, None, None])[None]  # heading 2, both elevation rows
    residual, fitted = colour_fit_residuals(query, fixed, body)
    assert residual.shape == (1, 4, 2) and residual[0, 2].max().item() < 1e-6
    assert (residual[0, [0, 1, 3]] > 1e-3).all()
    torch.testing.assert_close(fitted[0, 2], colour.expand(2, 3))


def test_the_parabola_vertex_is_the_minimum_of_a_parabola():
    x = torch.tensor([-1.0, 0.0, 1.0])
    values = (x - 0.3) ** 2
    assert parabola_vertex(*values).item() == pytest.approx(0.3)
    assert parabola_vertex(torch.tensor(1.0), torch.tensor(1.0), torch.tensor(1.0)).item() == 0
    assert parabola_vertex(*((x - 3.0) ** 2)).item() == 0.5  # clamped to half a step


def test_the_view_of_a_translated_object_and_its_place_in_the_image():
    az, el, radius = torch.zeros(1), torch.zeros(1), torch.full((1,), 2.0)
    seen_az, seen_el = apparent_view(torch.zeros(1, 3), az, el, radius)
    assert (seen_az.item(), seen_el.item()) == pytest.approx((0.0, 0.0), abs=1e-5)
    side = 2 * math.tan(math.radians(10))
    seen_az, _ = apparent_view(torch.tensor([[side, 0.0, 0.0]]), az, el, radius)
    assert seen_az.item() == pytest.approx(-10.0, abs=1e-4)
    _, seen_el = apparent_view(torch.tensor([[0.0, -side, 0.0]]), az, el, radius)
    assert seen_el.item() == pytest.approx(10.0, abs=1e-4)
    fov, res = torch.full((1,), 10.0), 64
    zero = centre_offsets(torch.zeros(1, 3), az, torch.tensor([0.0, 20.0]), radius, fov, res)
    torch.testing.assert_close(zero, torch.zeros(1, 2, 2), atol=1e-4, rtol=0)
    offset = centre_offsets(torch.tensor([[0.05, 0.0, 0.0]]), az, torch.tensor([0.0]), radius, fov, res)
    focal = 0.5 * res / math.tan(math.radians(5))
    assert offset[0, 0].tolist() == pytest.approx([focal * 0.05 / 2.0, 0.0], abs=1e-3)


def test_known_angles_come_back_within_the_grid_step(dataset, candidates):
    headings = [7.0, 100.0, 200.0, 313.0, 55.0, 268.0]
    elevations = [12.0, 27.0, 18.5, 21.0, 15.0, 24.0]
    translations = [
        [0.0, 0.0, 0.0],
        [0.03, 0.0, -0.02],
        [-0.03, 0.0, 0.03],
        [0.01, 0.0, 0.0],
        [0, 0, 0.02],
        [0.02, 0, 0],
    ]
    scenes = scenes_at(dataset, headings, elevations, translations)
    reading = match(synthetic_source(dataset, 32)(scenes).image, scenes, candidates)
    heading_error = (reading.heading_deg - torch.tensor(headings) + 180) % 360 - 180
    elevation_error = reading.elevation_deg - torch.tensor(elevations)
    assert heading_error.abs().max() < HEADING_STEP and elevation_error.abs().max() < ELEVATION_STEP
    assert heading_error.abs().mean() < HEADING_STEP / 4 and elevation_error.abs().mean() < ELEVATION_STEP / 4
    # The colour fit finds the palette colour the source painted each car with.
    assert (reading.colour.min(dim=1).values > -0.2).all() and (reading.colour.max(dim=1).values < 1.2).all()


def test_a_mismatched_image_scores_poorly(dataset, candidates):
    scenes = scenes_at(dataset, [30.0, 140.0], [15.0, 25.0], [[0.0, 0.0, 0.0]] * 2)
    true = match(synthetic_source(dataset, 32)(scenes).image, scenes, candidates).residual
    noise = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    box = render_synthetic(scenes, torch.zeros(2, 1, dtype=torch.long), torch.full((2, 1, 3), 0.5), ["box"], 32)
    for wrong in (noise, box.image * 2 - 1):
        assert match(wrong, scenes, candidates).residual.min() > 3 * true.max()


@pytest.mark.slow
def test_a_sweep_of_the_datasets_renders_reads_near_zero_and_a_held_knob_near_chance(dataset, candidates):
    prior = dataset.prior
    source, values = synthetic_source(dataset, 32), sweep_values(0, 360, 8, angular=True)
    reader = match_reader(candidates)
    real = swept_error(reader, source, prior, "rotation", values, range(2))
    held = swept_error(reader, source, prior, "rotation", values, range(2), hold_knob=True)
    assert real.mean < 3 and real.sign == 1 and held.mean == pytest.approx(90, abs=10)


def test_inputs_it_cannot_read_stop_with_one_line(dataset, candidates):
    scenes = scenes_at(dataset, [30.0, 60.0], [15.0, 25.0], [[0.0, 0.0, 0.0]] * 2)
    images = torch.zeros(2, 3, 32, 32)
    cases = [
        (torch.zeros(2, 1, 32, 32), scenes, "square RGB images"),
        (torch.zeros(2, 3, 8, 8), scenes, "at least 16 px"),
        (images[:1], scenes, "1 images but 2 scenes"),
        (images, scenes.replace(camera_radius=3.0), "camera radius 2.732"),
    ]
    for bad_images, bad_scenes, message in cases:
        with pytest.raises(RenderMatchError, match=message):
            match(bad_images, bad_scenes, candidates)
    with pytest.raises(RenderMatchError, match="must divide 360"):
        CandidateSpec("car", (0.2, 0.2, 0.2), 2.732, 10.0, heading_step_deg=7.0)
    with pytest.raises(RenderMatchError, match="unknown synthetic class 'truck'"):
        CandidateSpec("truck", (0.2, 0.2, 0.2), 2.732, 10.0)
    varying = dataclasses.replace(dataset, prior=ScenePrior(z_dim=1, scale=[[0.1, 0.2]] * 3), classes=["car", "box"])
    with pytest.raises(RenderMatchError, match="one class and a fixed object scale"):
        dataset_candidate_spec(varying)


def test_candidates_are_kept_on_disk_and_read_back(tmp_path, monkeypatch):
    spec = CandidateSpec(
        "car",
        (0.2, 0.2, 0.2),
        2.732,
        10.0,
        heading_step_deg=90.0,
        elevation_range_deg=(10.0, 20.0),
        elevation_step_deg=10.0,
        resolution=8,
    )
    first = cached_candidates(spec, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [f"candidates_{spec.key()}.pt"]
    assert first.fixed.shape == (3, 4, 2, 3, 8, 8) and first.body.shape == (3, 4, 2, 8, 8)

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr("giraffehd.evaluation.car.render_candidates.render_candidates", no_rendering)
    again = cached_candidates(spec, tmp_path)
    assert torch.equal(again.fixed, first.fixed) and torch.equal(again.body, first.body)
    scene = candidate_scenes(spec, torch.tensor([90.0]), torch.tensor([20.0]))
    assert scene.object_rotation_deg.item() == 90.0 and scene.object_translation.abs().sum() == 0
