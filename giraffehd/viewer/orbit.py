"""The viewer's orbit camera: a browser camera position to (azimuth, elevation, radius) and back.

The browser's camera orbits a look-at point; the generator's camera orbits the origin. Both use the
project's convention (giraffehd/rendering/camera.py: +y up, azimuth 0 on +z, azimuth 90 on +x), so the
offset of the browser camera from its look-at point is the generator camera's position:
``offset = radius * (cos(el) sin(az), sin(el), cos(el) cos(az))``. Panning the browser camera moves
both points together and leaves the orbit unchanged. Degrees in, degrees out.
"""

import math
from dataclasses import dataclass

from giraffehd.rendering.camera import MAX_ELEVATION_DEG


@dataclass(frozen=True)
class Orbit:
    azimuth_deg: float  # in (-180, 180]
    elevation_deg: float  # in [-MAX_ELEVATION_DEG, MAX_ELEVATION_DEG]
    radius: float  # scene units


def orbit_from_offset(offset: tuple[float, float, float]) -> Orbit:
    """The orbit of a camera at ``offset`` (x, y, z) from the point it looks at."""
    x, y, z = (float(v) for v in offset)
    radius = math.sqrt(x * x + y * y + z * z)
    if radius == 0:
        raise ValueError("the camera is at the point it looks at: no orbit")
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, y / radius))))
    azimuth = math.degrees(math.atan2(x, z))
    if azimuth <= -180.0:
        azimuth += 360.0
    return Orbit(azimuth, max(-MAX_ELEVATION_DEG, min(MAX_ELEVATION_DEG, elevation)), radius)


def offset_from_orbit(orbit: Orbit) -> tuple[float, float, float]:
    """Where the camera sits relative to the point it looks at."""
    az, el = math.radians(orbit.azimuth_deg), math.radians(orbit.elevation_deg)
    r = orbit.radius
    return (r * math.cos(el) * math.sin(az), r * math.sin(el), r * math.cos(el) * math.cos(az))


def wrap_degrees(angle: float) -> float:
    """``angle`` in (-180, 180]."""
    wrapped = math.fmod(angle + 180.0, 360.0)
    wrapped = wrapped + 360.0 if wrapped <= 0 else wrapped
    return wrapped - 180.0
