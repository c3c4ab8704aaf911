"""Square windows of an image, one per scene: what crop training renders and discriminates.

A window is given in output pixels (its top-left corner per scene and one side for the batch). Training
on windows at full resolution (EpiGRAF, GRAM-HD) lets the top layers of the generator and a patch
discriminator cost a fraction of a full frame. Corners are multiples of ``multiple`` so that the window
falls on whole pixels of a lower-resolution image that is ``multiple`` times smaller.
Axis legend: B batch, C channels, H W image, S window side.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor


@dataclass(frozen=True)
class Crop:
    top: Int[Tensor, " B"]  # first row, output pixels
    left: Int[Tensor, " B"]  # first column, output pixels
    size: int  # side, output pixels

    def scaled(self, factor: int) -> "Crop":
        """The same window in an image ``factor`` times smaller (corners and side must divide)."""
        if self.size % factor or bool((self.top % factor).any()) or bool((self.left % factor).any()):
            raise ValueError(f"the crop does not fall on whole pixels of an image {factor} times smaller")
        return Crop(top=self.top // factor, left=self.left // factor, size=self.size // factor)


def sample_crops(
    batch: int, resolution: int, size: int, multiple: int, rng: torch.Generator | None, device: torch.device | str
) -> Crop:
    """Uniformly placed ``size``-pixel windows of a ``resolution``-pixel image, corners on multiples of ``multiple``."""
    if not 0 < size <= resolution or size % multiple or resolution % multiple:
        raise ValueError(f"a crop of {size} px must fit a {resolution} px image and both be multiples of {multiple}")
    slots = (resolution - size) // multiple + 1
    corners = torch.randint(0, slots, (2, batch), generator=rng, device=rng.device if rng is not None else device)
    corners = corners.to(device) * multiple
    return Crop(top=corners[0], left=corners[1], size=size)


def crop_images(images: Float[Tensor, "B C H W"], crop: Crop, margin: int = 0) -> Float[Tensor, "B C S2 S2"]:
    """Each image's window, widened by ``margin`` pixels on every side; outside the image the border
    pixels repeat (side of the result: crop.size + 2 * margin)."""
    if margin:
        images = F.pad(images, (margin,) * 4, mode="replicate")
    side = crop.size + 2 * margin
    corners = zip(images, crop.top.tolist(), crop.left.tolist(), strict=True)
    return torch.stack([image[:, top : top + side, left : left + side] for image, top, left in corners])
