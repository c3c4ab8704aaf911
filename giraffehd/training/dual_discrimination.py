"""What the discriminator sees with dual discrimination (EG3D): each image beside a low-resolution
version of it, upsampled back to the image's size, as 6 channels.

A generated image is paired with the generator's own low-resolution image, so the upsampler cannot drift
from its most direct reading of the 3D render without D noticing the mismatch; a real image is paired
with itself area-downsampled by the same factor. Both go through the same bilinear upsampling, so that the
pairing, not the resampling, is what tells them apart. Axis legend: B images, H W image, l the low side.
"""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def _upsampled(image: Float[Tensor, "B 3 l l"], size: int) -> Float[Tensor, "B 3 H W"]:
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def dual_fake(image: Float[Tensor, "B 3 H W"], low_image: Float[Tensor, "B 3 l l"]) -> Float[Tensor, "B 6 H W"]:
    """A generated image beside the generator's low-resolution image of it, upsampled."""
    return torch.cat([image, _upsampled(low_image, image.shape[-1])], dim=1)


def dual_real(real: Float[Tensor, "B 3 H W"], low_resolution: int, image_resolution: int) -> Float[Tensor, "B 6 H W"]:
    """A real image (or a window of one) beside itself area-downsampled by image_resolution / low_resolution
    and upsampled back."""
    size = real.shape[-1] * low_resolution // image_resolution  # a window's share of the low side
    return torch.cat([real, _upsampled(F.interpolate(real, size=size, mode="area"), real.shape[-1])], dim=1)
