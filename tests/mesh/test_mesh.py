"""Marching cubes, the true surfaces of the synthetic classes, surface matching, and giraffehd-export-mesh."""

import sys

import numpy as np
import pytest
import torch
import trimesh

from giraffehd.mesh import cli
from giraffehd.mesh.compare import between_boxes, match_surfaces, turned
from giraffehd.mesh.density import grid_points
from giraffehd.mesh.export import preview
from giraffehd.mesh.extract import EmptySurface, Mesh, drop_floaters, marching_cubes, to_scene_units
from giraffehd.mesh.truth import surface_points
from giraffehd.scene import ScenePrior


def sphere_density(radius: float, size: int = 48) -> torch.Tensor:
    """High inside a ball of ``radius`` (box frame), falling linearly outside: the surface at 1 is the ball."""
    return 1 + (radius - grid_points(size).norm(dim=-1)) * 10


def test_marching_cubes_finds_a_ball_with_outward_faces():
    mesh = marching_cubes(sphere_density(0.6), threshold=1.0)
    radii = np.linalg.norm(mesh.vertices, axis=1)
    assert abs(radii.mean() - 0.6) < 0.01 and radii.std() < 0.01
    shape = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    assert shape.is_watertight and shape.volume > 0  # closed, normals outward
    assert shape.volume == pytest.approx(4 / 3 * np.pi * 0.6**3, rel=0.03)


def test_a_surface_touching_the_box_is_closed_and_no_surface_is_one_line():
    full = torch.full((16, 16, 16), 5.0)
    full[0, 0, 0] = 0.0  # the box is full: the surface is its walls
    assert trimesh.Trimesh(*marching_cubes(full, 1.0).__dict__.values(), process=False).is_watertight
    with pytest.raises(EmptySurface, match=r"^no surface at threshold 9: the object's density lies in \[0, 5\]$"):
        marching_cubes(full, 9.0)


def test_a_mesh_is_placed_as_its_object():
    prior = ScenePrior(num_objects=2, scale=[[0.5, 0.5], [0.25, 0.25], [0.5, 0.5]])
    scene = prior.sample(1, torch.Generator().manual_seed(0)).replace(
        object_rotation_deg=[[90.0, 0.0]], object_translation=[[[0.2, 0.0, -0.1], [0.0, 0.0, 0.0]]]
    )
    mesh = Mesh(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32), np.array([[0, 1, 2]]))
    placed = to_scene_units(mesh, scene, 0).vertices
    # Scaled by (0.5, 0.25, 0.5), turned 90 degrees about +y (+x to -z, +z to +x), moved by (0.2, 0, -0.1).
    assert placed == pytest.approx(np.array([[0.2, 0.0, -0.6], [0.2, 0.25, -0.1], [0.7, 0.0, -0.1]]), abs=1e-6)


@pytest.mark.parametrize("name", ["box", "sphere", "cylinder", "car"])
def test_true_surfaces_lie_on_their_parts_and_nowhere_inside(name):
    points = surface_points(name, 4000)
    if name == "box":
        assert torch.allclose(points.abs().amax(dim=1), torch.ones(len(points)), atol=1e-6)
    if name == "sphere":
        assert torch.allclose(points.norm(dim=1), torch.ones(len(points)), atol=1e-6)
    if name == "car":  # the union: body, cabin, nose and wheels; nothing from inside the body survives
        assert len(points) < 4000
        lows, highs = points.amin(dim=0), points.amax(dim=0)
        assert lows.tolist() == pytest.approx([-0.9, -0.72, -0.48], abs=0.02)
        assert highs.tolist() == pytest.approx([0.98, 0.45, 0.48], abs=0.02)
        body = (points[:, 0].abs() < 0.85) & ((points[:, 1] + 0.2).abs() < 0.2) & (points[:, 2].abs() < 0.4)
        assert not body.any()


def test_matching_finds_the_turn_and_measures_what_is_missing():
    truth, other = surface_points("car", 6000, seed=0), surface_points("car", 6000, seed=1)
    same = match_surfaces(turned(other, -40.0), truth)
    assert same.rotation_deg == pytest.approx(40.0, abs=1.0)
    assert same.chamfer < 0.015 and same.covered > 0.99  # the sampling's own error at 6000 points
    no_wheels = other[other[:, 1] > -0.42]
    missing = match_surfaces(no_wheels, truth)
    assert missing.completeness > same.completeness and missing.covered < 0.95
    assert missing.accuracy < 0.015  # what is there is right


def test_a_mesh_of_another_box_is_compared_through_scene_units():
    # The true car drawn in a box of half sizes 0.2, read in a box of (0.25, 0.1, 0.4): squeezed there,
    # it matches only after being carried back; carried back it matches as well as a second draw.
    truth, other = surface_points("car", 6000, seed=0), surface_points("car", 6000, seed=1)
    data_box, model_box = torch.tensor([0.2, 0.2, 0.2]), torch.tensor([0.25, 0.1, 0.4])
    in_model_box = other * data_box / model_box
    assert match_surfaces(in_model_box, truth).covered < 0.6
    back = between_boxes(in_model_box, model_box, data_box)
    assert match_surfaces(back, truth).chamfer < 0.015 and match_surfaces(back, truth).covered > 0.99


def test_the_preview_shows_the_nearest_vertex():
    scene = (
        ScenePrior()
        .sample(1, torch.Generator().manual_seed(0))
        .replace(camera_azimuth_deg=0.0, camera_elevation_deg=0.0, camera_radius=3.0, camera_fov_deg=30.0)
    )
    near_red = [0.0, 0.0, 0.5]  # nearer the camera on +z
    far_blue = [0.0, 0.0, -0.5]
    mesh = Mesh(np.array([far_blue, near_red], np.float32), np.zeros((0, 3), np.int64),
                np.array([[0, 0, 255], [255, 0, 0]], np.uint8))  # fmt: skip
    image = preview(mesh, scene, 64)
    red = (image[0] == 1) & (image[1] == 0) & (image[2] == 0)
    assert red.any() and not ((image[2] == 1) & (image[0] == 0)).any()


def test_export_writes_loadable_coloured_meshes_and_refuses_in_one_line(tiny_run, tmp_path, capsys, monkeypatch):
    from giraffehd.mesh.density import object_density_grid
    from giraffehd.model_io import load_model

    model = load_model(tiny_run)
    scene = model.prior.sample(1, torch.Generator().manual_seed(0))
    level = float(object_density_grid(model.generator, scene, 0, 24).median())  # the 4-step model's own middle
    out = tmp_path / "mesh"
    monkeypatch.setattr(sys, "argv", ["giraffehd-export-mesh", f"checkpoint={tiny_run}", f"output_dir={out}",
                                      "grid_size=24", f"threshold={level}", "views=2"])  # fmt: skip
    cli.main()
    names = sorted(p.name for p in out.iterdir())
    assert names == ["object_0.glb", "object_0.ply", "preview.png", "scene.json"]
    for name in ("object_0.glb", "object_0.ply"):
        shape = trimesh.load(out / name, force="mesh")
        assert len(shape.faces) > 0 and shape.visual.kind == "vertex"
    nowhere = tmp_path / "no"
    monkeypatch.setattr(sys, "argv", ["giraffehd-export-mesh", f"checkpoint={tiny_run}", f"output_dir={nowhere}",
                                      "grid_size=24", "threshold=1e9"])  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("giraffehd-export-mesh: error: no surface at threshold 1e+09")
    monkeypatch.setattr(sys, "argv", ["giraffehd-export-mesh", f"checkpoint={tiny_run}", "slots=[4]"])
    with pytest.raises(SystemExit):
        cli.main()
    assert "slots must list object slots in [0, 0]" in capsys.readouterr().err


def test_small_disconnected_pieces_are_dropped_with_their_colours():
    density = sphere_density(0.5)
    speck = grid_points(48)
    density = torch.maximum(density, 1 + (0.08 - (speck - torch.tensor([0.85, 0.85, 0.85])).norm(dim=-1)) * 10)
    mesh = marching_cubes(density, 1.0)
    coloured = Mesh(mesh.vertices, mesh.faces, np.arange(len(mesh.vertices) * 3).reshape(-1, 3).astype(np.uint8))
    kept = drop_floaters(coloured)
    assert np.linalg.norm(kept.vertices, axis=1).max() < 0.6  # the speck near the corner is gone
    assert len(kept.vertices) < len(mesh.vertices) and kept.faces.max() == len(kept.vertices) - 1
    original = {tuple(v): tuple(c) for v, c in zip(coloured.vertices.tolist(), coloured.colours.tolist(), strict=True)}
    assert all(
        original[tuple(v)] == tuple(c) for v, c in zip(kept.vertices.tolist(), kept.colours.tolist(), strict=True)
    )
