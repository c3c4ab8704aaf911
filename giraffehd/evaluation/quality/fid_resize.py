"""Resampling generated images before FID/KID: score a model's images at another resolution.

The use: a 64 px model upscaled to 256 px, scored against the 256 px set, is the baseline a 256 px model
(with its learned upsampler) has to beat; plain bicubic upscaling adds no detail, only interpolation.

The resize is bicubic and antialiased (``torch.nn.functional.interpolate(..., antialias=True)``, whose kernel
is PIL's bicubic, a = -0.5), on float values, clamped back into [0, 1] because the cubic kernel overshoots at
edges. The result then takes the path of every generated image (rounded to 8 bits, as if saved as PNG).
Axis legend: B images, H W pixels before, S pixels after (square).
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from jaxtyping import Float

Sampler = Callable[[int, int], Float[torch.Tensor, "B 3 H W"]]


def resize_images(images: Float[torch.Tensor, "B 3 H W"], size: int) -> Float[torch.Tensor, "B 3 S S"]:
    """Images in [0, 1] resized to ``size`` x ``size`` (bicubic, antialiased), still in [0, 1]."""
    if size < 1:
        raise ValueError(f"resize size must be at least 1 pixel, got {size}")
    if tuple(images.shape[-2:]) == (size, size):
        return images
    resized = F.interpolate(images.float(), size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    return resized.clamp(0, 1)


def resized_sampler(sample_images: Sampler, size: int | None) -> Sampler:
    """``sample_images`` with every batch resized to ``size`` px (None: unchanged)."""
    if size is None:
        return sample_images
    if size < 1:
        raise ValueError(f"resize size must be at least 1 pixel, got {size}")
    return lambda start, count: resize_images(sample_images(start, count), size)
