"""The object classes of the synthetic dataset, each a union of primitives in its box frame [-1, 1]^3.

The car is deliberately asymmetric, so that its rotation about the up axis can be read from an image:
its nose (yellow) points to +x of its box frame, the cabin (glass blue) sits towards the back (-x), and
it stands on four dark wheels. Box, sphere and cylinder are the CLEVR-like primitives.
"""

from dataclasses import dataclass

YELLOW = (1.0, 0.82, 0.1)
GLASS = (0.72, 0.84, 0.95)
TYRE = (0.07, 0.07, 0.08)


@dataclass(frozen=True)
class Part:
    """A primitive placed in an object's box frame: x_box = centre + R(rotation) (half_size * x_part).

    ``colour`` is an RGB triple in [0, 1], or None for the object's own (palette) colour.
    """

    primitive: str  # box, sphere or cylinder (see giraffehd.rendering.primitives)
    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    half_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    rotation_axis_angle_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    colour: tuple[float, float, float] | None = None


def _wheel(x: float, z: float) -> Part:
    # A cylinder's axis is +y; turned 90 degrees about +x it runs along z, across the car.
    return Part("cylinder", (x, -0.5, z), (0.22, 0.08, 0.22), (90.0, 0.0, 0.0), TYRE)


SHAPES: dict[str, tuple[Part, ...]] = {
    "box": (Part("box"),),
    "sphere": (Part("sphere"),),
    "cylinder": (Part("cylinder"),),
    "car": (
        Part("box", (0.0, -0.2, 0.0), (0.9, 0.25, 0.45)),  # body
        Part("box", (-0.3, 0.25, 0.0), (0.4, 0.2, 0.38), colour=GLASS),  # cabin, towards the back
        Part("box", (0.88, -0.15, 0.0), (0.1, 0.15, 0.4), colour=YELLOW),  # nose, at +x
        _wheel(0.55, 0.4),
        _wheel(0.55, -0.4),
        _wheel(-0.55, 0.4),
        _wheel(-0.55, -0.4),
    ),
}
