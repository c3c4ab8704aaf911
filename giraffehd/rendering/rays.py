"""A bundle of rays: origins and directions with the same leading (batch) shape."""

from dataclasses import dataclass

from jaxtyping import Float
from torch import Tensor


@dataclass(frozen=True)
class Rays:
    """Rays ``x(t) = origins + t * directions``.

    World rays from a camera have shape (B, R, 3) with unit directions; rays expressed in object box
    frames have shape (B, N, R, 3) and directions that are not unit length (see
    :func:`giraffehd.rendering.transforms.world_to_box_rays`).
    """

    origins: Float[Tensor, "*batch 3"]
    directions: Float[Tensor, "*batch 3"]

    def __post_init__(self) -> None:
        if self.origins.shape != self.directions.shape or self.origins.shape[-1:] != (3,):
            raise ValueError(
                f"Rays need origins and directions of one shape (..., 3), got "
                f"{tuple(self.origins.shape)} and {tuple(self.directions.shape)}"
            )

    def at(self, depths: Float[Tensor, "*batch S"]) -> Float[Tensor, "*batch S 3"]:
        """Points at the given depths along each ray."""
        return self.origins[..., None, :] + depths[..., None] * self.directions[..., None, :]
