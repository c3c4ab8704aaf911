"""fid_resize.py: bicubic, antialiased resampling of generated images before FID/KID."""

import numpy as np
import pytest
import torch
from PIL import Image

from giraffehd.evaluation.quality.fid_resize import resize_images, resized_sampler


@pytest.mark.parametrize("size", [40, 64, 8])
def test_the_resize_keeps_the_range_and_gives_the_asked_shape(size):
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    images[:, :, ::2] = 0.0  # hard stripes: the cubic kernel overshoots them before the clamp
    images[:, :, 1::2] = 1.0
    resized = resize_images(images, size)
    assert resized.shape == (2, 3, size, size) and resized.dtype == torch.float32
    assert resized.min() >= 0 and resized.max() <= 1


@pytest.mark.parametrize("size", [64, 8])
def test_the_resize_is_pils_bicubic_on_float_values(size):
    images = 0.3 + 0.4 * torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))  # no clamping
    resized = resize_images(images, size)
    for channel in range(3):
        plane = Image.fromarray(images[0, channel].numpy(), mode="F").resize((size, size), Image.BICUBIC)
        assert np.allclose(resized[0, channel].numpy(), np.asarray(plane), atol=1e-5)


def test_a_constant_image_stays_constant_and_the_same_size_is_untouched():
    grey = torch.full((1, 3, 8, 8), 0.25)
    assert torch.allclose(resize_images(grey, 32), torch.full((1, 3, 32, 32), 0.25), atol=1e-6)
    assert resize_images(grey, 8) is grey


def test_the_resized_sampler_resizes_every_batch():
    def sample(start, count):
        return torch.full((count, 3, 8, 8), start / 10)

    assert resized_sampler(sample, None) is sample
    resized = resized_sampler(sample, 24)
    assert resized(3, 2).shape == (2, 3, 24, 24)
    assert torch.allclose(resized(3, 2), torch.full((2, 3, 24, 24), 0.3), atol=1e-6)
    with pytest.raises(ValueError, match="at least 1 pixel, got 0"):
        resized_sampler(sample, 0)
