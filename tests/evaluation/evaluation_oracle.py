"""A hand-made source and reader pair that writes the scene's knobs into pixels and reads them back.

They test the metrics apart from any network: the oracle reads exactly what the source drew.
Image layout (16 x 16): pixel (0, 0) holds (cos, sin) of the heading, (0, 1) the elevation / 90,
(0, 2) the ground-frame translation * 10; a foreground square (rows and columns 4-11) has the object's
colour; these are the foreground; every other pixel shows the background, a value set by the background codes.
"""

import torch

from giraffehd.evaluation.car.evaluator import Evaluator, Reading
from giraffehd.evaluation.labels import view_translation
from giraffehd.evaluation.sources import Rendered
from giraffehd.scene import SceneParameters

SIZE = 16


def square_mask(batch: int) -> torch.Tensor:
    mask = torch.zeros(batch, 1, SIZE, SIZE)
    mask[:, :, 4:12, 4:12] = 1
    mask[:, :, 0, :3] = 1  # the pixels that encode the object's pose belong to it
    return mask


def oracle_source(ignore: str | None = None, leak: float = 0.0):
    """The oracle image of each scene; ``ignore``: a knob held at 0 (a source that ignores it); ``leak``:
    how much the object's appearance code tints the background."""

    def render(scene: SceneParameters) -> Rendered:
        b = scene.batch_size
        rotation = scene.object_rotation_deg[:, 0] * (0 if ignore == "rotation" else 1)
        heading = torch.deg2rad(rotation - scene.camera_azimuth_deg)
        background = torch.tanh(scene.background_shape[:, :1] + leak * scene.object_appearance[:, 0, :1])
        image = background[:, :, None, None].expand(b, 3, SIZE, SIZE).clone()
        mask = square_mask(b)
        colour = torch.tanh(scene.object_appearance[:, 0, :3])
        image = image * (1 - mask) + colour[:, :, None, None] * mask
        image[:, 0, 0, 0], image[:, 1, 0, 0] = 0.9 * heading.cos(), 0.9 * heading.sin()
        image[:, 0, 0, 1] = scene.camera_elevation_deg / 90
        image[:, :, 0, 2] = 10 * view_translation(scene.object_translation[:, 0], scene.camera_azimuth_deg)
        return Rendered(image, mask)

    return render


class OracleReader(Evaluator):
    def __init__(self) -> None:
        super().__init__(
            SIZE, ["car"], ["red", "blue"], [10, 30], [[-0.04, 0.04], [0, 0], [-0.04, 0.04]], (4, 4, 4, 4), 4
        )

    @torch.no_grad()
    def read(self, images: torch.Tensor) -> Reading:
        b = images.shape[0]
        return Reading(
            heading_deg=torch.rad2deg(torch.atan2(images[:, 1, 0, 0], images[:, 0, 0, 0])),
            elevation_deg=images[:, 0, 0, 1] * 90,
            azimuth_deg=torch.zeros(b),
            translation=images[:, :, 0, 2] / 10,
            class_index=torch.zeros(b, dtype=torch.long),
            colour_index=(images[:, 0, 8, 8] > 0).long(),
            mask=square_mask(b),
        )
