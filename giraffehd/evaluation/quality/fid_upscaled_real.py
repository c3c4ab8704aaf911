"""The upscaled real set, a reference row of the fidelity protocol: real images brought down to a low
resolution and bicubic back up, scored against the full-resolution reference like a generator's images.

It is what a perfect low-resolution model plus bicubic upscaling would score: the part of a figure that
upscaling alone costs. The low-resolution images are made from real images that are not in the reference
(the protocol floor's own images, so the reference stays whole): each is area-averaged down to ``low_size``
px (as a camera's pixels average the light), rounded to 8 bits (as a stored low-resolution set holds it),
then resized to ``size`` px by fid_resize.py's bicubic, the path of a generator's upscaled images.
Axis legend: B images, L low-resolution pixels, S pixels after (square).
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Float

from giraffehd.evaluation.quality.fid_features import read_image
from giraffehd.evaluation.quality.fid_resize import Sampler, resize_images


def area_downsample(images: Float[torch.Tensor, "B 3 H W"], size: int) -> Float[torch.Tensor, "B 3 L L"]:
    """Images in [0, 1] averaged down to ``size`` x ``size`` (area), rounded to 8-bit levels."""
    if not 1 <= size <= min(images.shape[-2:]):
        raise ValueError(f"area downsampling needs a size from 1 to {min(images.shape[-2:])} px, got {size}")
    low = F.interpolate(images.float(), size=(size, size), mode="area")
    return (low.clamp(0, 1) * 255).round() / 255


def upscaled_real_sampler(files: Sequence[str | Path], low_size: int, size: int) -> Sampler:
    """``images(start, count)``: files ``start .. start + count - 1`` as floats in [0, 1], area-downsampled to
    ``low_size`` px and bicubic to ``size`` px; the sampler FID/KID reads (fid.compute_quality)."""
    files = [Path(f) for f in files]
    if not 1 <= low_size <= size:
        raise ValueError(f"the low resolution must be from 1 to {size} px, got {low_size}")

    def images(start: int, count: int) -> Float[torch.Tensor, "B 3 S S"]:
        if start + count > len(files):
            raise ValueError(f"images {start}..{start + count - 1} asked of {len(files)} real images")
        pixels = np.stack([read_image(f) for f in files[start : start + count]])
        real = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255
        return resize_images(area_downsample(real, low_size), size)

    return images


def upscaled_real_label(low_size: int, size: int, num_images: int) -> str:
    """The row's name in the table: which images, and how they were made."""
    return (
        f"{low_size} px real images, bicubic to {size} px ({num_images} real images not in the reference, "
        f"the floor's, area-downsampled to {low_size} px)"
    )
