import pytest
import torch

from giraffehd.model.crops import Crop, crop_images, sample_crops


def test_sampled_crops_fit_the_image_and_fall_on_the_multiple():
    crop = sample_crops(500, 256, 128, 4, torch.Generator().manual_seed(0), "cpu")
    for corner in (crop.top, crop.left):
        assert corner.min() == 0 and corner.max() == 128 and not (corner % 4).any()
    again = sample_crops(500, 256, 128, 4, torch.Generator().manual_seed(0), "cpu")
    assert torch.equal(crop.top, again.top) and torch.equal(crop.left, again.left)


def test_crop_images_takes_each_images_own_window_and_repeats_the_border_outside():
    images = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    crop = Crop(top=torch.tensor([0, 4]), left=torch.tensor([2, 4]), size=4)
    assert torch.equal(crop_images(images, crop), torch.stack([images[0, :, 0:4, 2:6], images[1, :, 4:8, 4:8]]))
    wide = crop_images(images, crop, margin=1)
    assert wide.shape == (2, 1, 6, 6)
    assert torch.equal(wide[0, 0, 0, 1:5], images[0, 0, 0, 2:6])  # above the image: its top row again
    assert torch.equal(wide[1, 0, 1:5, 5], images[1, 0, 4:8, 7])  # right of the image: its last column


def test_scaled_crops_must_fall_on_whole_pixels():
    crop = Crop(top=torch.tensor([8]), left=torch.tensor([4]), size=16)
    small = crop.scaled(4)
    assert (small.top.item(), small.left.item(), small.size) == (2, 1, 4)
    with pytest.raises(ValueError, match="whole pixels"):
        Crop(top=torch.tensor([2]), left=torch.tensor([0]), size=16).scaled(4)


def test_a_crop_larger_than_the_image_is_refused():
    with pytest.raises(ValueError, match="must fit"):
        sample_crops(1, 64, 128, 4, None, "cpu")
