import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from giraffehd.data.image_dataset import ImageDataset
from giraffehd.data.image_files import CropBox, DataError, find_images


def _collection(root, count: int = 4, height: int = 12, width: int = 16):
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(root / f"{i:03d}.png")
    return find_images(root)


def test_items_are_float32_squares_in_the_unit_range(tmp_path):
    collection = _collection(tmp_path)
    dataset = ImageDataset(collection, resolution=8)
    assert len(dataset) == 4
    image = dataset[1]
    assert image.shape == (3, 8, 8) and image.dtype == torch.float32
    assert image.min() >= -1 and image.max() <= 1 and image.min() < -0.5 and image.max() > 0.5
    torch.testing.assert_close(dataset[-3], image, rtol=0, atol=0)


def test_full_range_maps_to_minus_one_and_one(tmp_path):
    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[:, 4:] = 255
    Image.fromarray(pixels).save(tmp_path / "a.png")
    image = ImageDataset(find_images(tmp_path), resolution=8)[0]
    assert (image[:, :, :4] == -1).all() and (image[:, :, 4:] == 1).all()


def test_flip_is_a_mirror_image_and_deterministic_by_seed_epoch_and_index(tmp_path):
    collection = _collection(tmp_path, count=64, height=8, width=8)
    plain = ImageDataset(collection, resolution=8)
    flipping = ImageDataset(collection, resolution=8, hflip=True, seed=3)
    flips = [flipping.is_flipped(i) for i in range(64)]
    assert 20 <= sum(flips) <= 44  # about half
    for i in range(8):
        expected = plain[i].flip(-1) if flips[i] else plain[i]
        torch.testing.assert_close(flipping[i], expected, rtol=0, atol=0)
    assert [ImageDataset(collection, 8, hflip=True, seed=3).is_flipped(i) for i in range(64)] == flips
    assert [ImageDataset(collection, 8, hflip=True, seed=4).is_flipped(i) for i in range(64)] != flips
    flipping.set_epoch(1)
    epoch_one = [flipping.is_flipped(i) for i in range(64)]
    assert epoch_one != flips
    flipping.set_epoch(0)
    assert [flipping.is_flipped(i) for i in range(64)] == flips
    assert not any(plain.is_flipped(i) for i in range(64))


def test_set_epoch_reaches_persistent_workers(tmp_path):
    collection = _collection(tmp_path, count=16, height=8, width=8)
    dataset = ImageDataset(collection, resolution=8, hflip=True)
    plain = ImageDataset(collection, resolution=8)
    loader = DataLoader(dataset, batch_size=16, num_workers=1, persistent_workers=True)
    unflipped = next(iter(DataLoader(plain, batch_size=16)))
    for epoch in (0, 1, 2):
        dataset.set_epoch(epoch)
        expected = torch.stack([x.flip(-1) if dataset.is_flipped(i) else x for i, x in enumerate(unflipped)])
        torch.testing.assert_close(next(iter(loader)), expected, rtol=0, atol=0)


def test_crop_box_outside_an_image_names_it(tmp_path):
    dataset = ImageDataset(_collection(tmp_path), resolution=8, crop=CropBox(10, 0, 8, 8))
    with pytest.raises(DataError, match="cannot crop image 000.png in .*does not fit inside an image of 16x12"):
        dataset[0]


def test_invalid_resolution_is_rejected(tmp_path):
    with pytest.raises(DataError, match="data.resolution must be a power of two"):
        ImageDataset(_collection(tmp_path), resolution=12)
