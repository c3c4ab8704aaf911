"""The browser camera's orbit, against the project's camera convention and closed forms."""

import math

import pytest
import torch

from giraffehd.rendering.camera import camera_position
from giraffehd.viewer.orbit import MAX_ELEVATION_DEG, Orbit, offset_from_orbit, orbit_from_offset, wrap_degrees


@pytest.mark.parametrize(
    ("azimuth", "elevation", "radius"), [(0.0, 0.0, 1.0), (90.0, 30.0, 2.732), (-135.0, -20.0, 4.0), (180.0, 60.0, 3.0)]
)
def test_the_offset_is_the_generator_cameras_position(azimuth, elevation, radius):
    offset = offset_from_orbit(Orbit(azimuth, elevation, radius))
    expected = camera_position(torch.tensor([azimuth]), torch.tensor([elevation]), torch.tensor([radius]))
    assert offset == pytest.approx(expected[0].tolist(), abs=1e-6)
    back = orbit_from_offset(offset)
    assert (wrap_degrees(back.azimuth_deg - azimuth), back.elevation_deg, back.radius) == pytest.approx(
        (0, elevation, radius), abs=1e-9
    )


def test_closed_forms_of_the_convention():
    assert orbit_from_offset((0.0, 0.0, 2.0)) == Orbit(0.0, 0.0, 2.0)  # azimuth 0: on +z
    assert orbit_from_offset((3.0, 0.0, 0.0)).azimuth_deg == pytest.approx(90)  # azimuth 90: on +x
    assert orbit_from_offset((0.0, 0.0, -1.0)).azimuth_deg == pytest.approx(180)
    assert orbit_from_offset((1.0, 1.0, 0.0)).elevation_deg == pytest.approx(45)
    assert orbit_from_offset((0.0, 5.0, 0.0)).elevation_deg == MAX_ELEVATION_DEG  # straight above: kept off the pole
    with pytest.raises(ValueError, match="no orbit"):
        orbit_from_offset((0.0, 0.0, 0.0))


def test_wrap_degrees():
    assert [wrap_degrees(a) for a in (0.0, 180.0, -180.0, 190.0, 540.0, -190.0, 359.5)] == pytest.approx(
        [0, 180, 180, -170, 180, 170, -0.5]
    )
    assert all(-180 < wrap_degrees(a) <= 180 for a in torch.linspace(-1000, 1000, 97).tolist())
    assert math.isclose(wrap_degrees(720.25), 0.25, abs_tol=1e-9)
