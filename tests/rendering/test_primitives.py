import math

import pytest
import torch

from giraffehd.rendering.primitives import hit_box, hit_cylinder, hit_sphere
from giraffehd.rendering.rays import Rays


def _rays(origins, directions):
    return Rays(
        origins=torch.tensor(origins, dtype=torch.float32), directions=torch.tensor(directions, dtype=torch.float32)
    )


def test_sphere_closed_form():
    hit = hit_sphere(_rays([[0, 0, 5], [0.6, 0, 5], [1.2, 0, 5], [0, 0, 0.5]], [[0, 0, -1]] * 4))
    assert hit.hit.tolist() == [True, True, False, False]  # the last starts inside: no outer surface ahead
    torch.testing.assert_close(hit.depth[:2], torch.tensor([4.0, 4.2]))
    torch.testing.assert_close(hit.normal[1], torch.tensor([0.6, 0.0, 0.8]))
    assert torch.isinf(hit.depth[2:]).all()


def test_box_closed_form():
    hit = hit_box(
        _rays([[0.3, 0.2, 5], [5, 0.1, 0.2], [0, 3, 0], [0, 1.5, 5]], [[0, 0, -1], [-1, 0, 0], [0, -1, 0], [0, 0, -1]])
    )
    assert hit.hit.tolist() == [True, True, True, False]
    torch.testing.assert_close(hit.depth[:3], torch.tensor([4.0, 4.0, 2.0]))
    torch.testing.assert_close(hit.normal[:3], torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))


def test_cylinder_side_and_caps():
    hit = hit_cylinder(
        _rays(
            [[0, 0, 5], [0.3, 5, 0.2], [0.9, 5, 0.9], [0, 1.5, 5], [0, 0, 5], [0, -5, 0]],
            [[0, 0, -1], [0, -1, 0], [0, -1, 0], [0, 0, -1], [0, 0, -2], [0, 1, 0]],
        )
    )
    # side; top cap; above the cap but outside the disc; passing above; a non-unit direction; bottom cap.
    assert hit.hit.tolist() == [True, True, False, False, True, True]
    torch.testing.assert_close(hit.depth[[0, 1, 4, 5]], torch.tensor([4.0, 4.0, 2.0, 4.0]))
    torch.testing.assert_close(hit.normal[0], torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(hit.normal[1], torch.tensor([0.0, 1.0, 0.0]))
    torch.testing.assert_close(hit.normal[5], torch.tensor([0.0, -1.0, 0.0]))


@pytest.mark.parametrize("primitive", ["box", "sphere", "cylinder"])
def test_hits_lie_on_the_surface_and_face_the_ray(primitive):
    g = torch.Generator().manual_seed(0)
    origins = torch.nn.functional.normalize(torch.randn(4000, 3, generator=g), dim=-1) * 4
    targets = (torch.rand(4000, 3, generator=g) - 0.5) * 2.6
    rays = Rays(origins=origins, directions=torch.nn.functional.normalize(targets - origins, dim=-1))
    hit = {"box": hit_box, "sphere": hit_sphere, "cylinder": hit_cylinder}[primitive](rays)
    assert 0.2 < hit.hit.float().mean() < 0.95
    p = (rays.origins + hit.depth[:, None] * rays.directions)[hit.hit]
    if primitive == "box":
        on_surface = (p.abs().amax(dim=-1) - 1).abs() < 1e-4
    elif primitive == "sphere":
        on_surface = (p.norm(dim=-1) - 1).abs() < 1e-4
    else:
        radial = p[:, [0, 2]].norm(dim=-1)
        side = ((radial - 1).abs() < 1e-4) & (p[:, 1].abs() <= 1 + 1e-4)
        cap = ((p[:, 1].abs() - 1).abs() < 1e-4) & (radial <= 1 + 1e-4)
        on_surface = side | cap
    assert on_surface.all()
    normals = hit.normal[hit.hit]
    torch.testing.assert_close(normals.norm(dim=-1), torch.ones(len(normals)))
    assert torch.all((normals * rays.directions[hit.hit]).sum(-1) < 1e-6)
    # The hit is the first one: just before it the ray is still outside.
    before = rays.origins[hit.hit] + (hit.depth[hit.hit, None] - 1e-3) * rays.directions[hit.hit]
    if primitive == "sphere":
        assert torch.all(before.norm(dim=-1) > 1)
    elif primitive == "box":
        assert torch.all(before.abs().amax(dim=-1) > 1)


def test_grazing_precision_of_sphere_depth():
    hit = hit_sphere(_rays([[0, math.sin(0.3), 10]], [[0, 0, -1]]))
    assert hit.depth.item() == pytest.approx(10 - math.cos(0.3), abs=1e-5)
