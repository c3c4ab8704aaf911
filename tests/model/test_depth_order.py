"""Two objects in line with the camera: the nearer one is what the feature map shows, whatever its slot."""

import pytest
import torch

from giraffehd.model.feature_renderer import FeatureMapRenderer
from giraffehd.model.styles import Styles
from giraffehd.networks.fields import FeatureField, FieldOutput
from giraffehd.scene import ScenePrior

RADIUS = 2.732
HALF_SIZE = 0.2


class SolidBox(FeatureField):
    """A dense cube filling its box whose feature is the appearance style: each object shows its own code."""

    def __init__(self) -> None:
        super().__init__(w_dim=2, feature_dim=2, hidden_dim=2, num_layers=1, skip_layer=None, num_frequencies=0)

    def forward(self, points, w_shape, w_appearance=None) -> FieldOutput:
        inside = points.abs().amax(dim=-1) <= 1.0
        density = torch.where(inside, torch.full_like(points[..., 0], 200.0), torch.zeros_like(points[..., 0]))
        features = w_appearance[:, :, None, :].expand(*points.shape[:-1], -1)
        return FieldOutput(density=density, features=features)


def _render(depths: tuple[float, float]):
    """Objects 0 and 1 at the image centre, at z = depths (the camera is on +z at azimuth 0)."""
    renderer = FeatureMapRenderer(SolidBox(), SolidBox(), resolution=8, num_object_samples=32)
    scene = ScenePrior(num_objects=2, z_dim=2, fov_deg=[30, 30]).sample(1, torch.Generator().manual_seed(0))
    scene = scene.replace(
        camera_azimuth_deg=0.0, camera_elevation_deg=0.0, camera_radius=RADIUS, object_rotation_deg=0.0,
        object_translation=torch.tensor([[[0.0, 0.0, depths[0]], [0.0, 0.0, depths[1]]]]),
        object_scale=HALF_SIZE, object_present=True,
    )  # fmt: skip
    one_hot = torch.eye(2)[None]  # object k's feature is the k-th unit vector
    styles = Styles(one_hot, one_hot, torch.zeros(1, 2), torch.zeros(1, 2))
    return renderer(scene, styles)


@pytest.mark.parametrize(("depths", "nearer"), [((0.5, -0.5), 0), ((-0.5, 0.5), 1)])
def test_the_nearer_object_covers_the_farther_one_whatever_its_slot(depths, nearer):
    maps = _render(depths)
    centre = maps.foreground[0, :, 3:5, 3:5]  # the four pixels around the image centre
    torch.testing.assert_close(centre[nearer], torch.ones(2, 2), atol=1e-3, rtol=0)
    torch.testing.assert_close(centre[1 - nearer], torch.zeros(2, 2), atol=1e-3, rtol=0)
    # The depth is that of the nearer cube's front face, along the ray through each pixel centre.
    front = RADIUS - max(depths) - HALF_SIZE
    assert maps.depth[0, 0, 3:5, 3:5].min() >= front - 1e-3
    assert maps.depth[0, 0, 3:5, 3:5].max() <= front * 1.01  # off-axis rays are at most 1% longer here
    # Each object is opaque on its own: the hidden one is there, only covered.
    assert (maps.object_alpha[0, :, 3:5, 3:5] > 0.999).all()
