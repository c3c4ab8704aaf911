import zipfile

import numpy as np
import pytest
import torch
from lightning.pytorch.utilities.data import _update_dataloader
from PIL import Image
from torch.utils.data import DistributedSampler

from giraffehd.data.datamodule import ImageDataModule
from giraffehd.data.image_files import DataError


def _solid_images(root, count: int = 12):
    """Images whose red value is 8 * index, so a batch says which images it holds."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.full((10, 14, 3), [8 * i, 0, 0], dtype=np.uint8)).save(root / f"{i:02d}.png")
    return root


def _zipped(folder, archive):
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    return archive


def _indices(batch: torch.Tensor) -> list[int]:
    red = (batch[:, 0, 4, 4] + 1) * 127.5
    return (red / 8).round().long().tolist()


def _epoch_orders(datamodule: ImageDataModule, epochs: int = 2) -> list[list[int]]:
    loader = datamodule.train_dataloader()
    orders = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)  # what Lightning does at every epoch start
        orders.append([i for batch in loader for i in _indices(batch)])
    return orders


def test_a_restored_loader_skips_the_batches_already_consumed(tmp_path):
    path = _solid_images(tmp_path / "images")
    loader = ImageDataModule(path, resolution=8, batch_size=2, num_workers=0, seed=3).train_dataloader()
    full = [_indices(batch) for batch in loader]
    iterator = iter(loader)
    consumed = [_indices(next(iterator)) for _ in range(2)]
    state = loader.state_dict()
    assert state == {"consumed": 2}
    restored = ImageDataModule(path, resolution=8, batch_size=2, num_workers=0, seed=3).train_dataloader()
    restored.load_state_dict(state)
    assert consumed + [_indices(batch) for batch in restored] == full
    assert [_indices(batch) for batch in restored] == full  # the skip applies to one pass only


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_batches_from_a_folder_and_a_zip(tmp_path, kind):
    path = _solid_images(tmp_path / "images")
    if kind == "zip":
        path = _zipped(path, tmp_path / "images.zip")
    datamodule = ImageDataModule(str(path), resolution=8, batch_size=5, num_workers=0)
    datamodule.setup("fit")
    assert datamodule.num_images == 12
    batches = list(datamodule.train_dataloader())
    assert len(batches) == 2  # drop_last: 12 // 5
    for batch in batches:
        assert batch.shape == (5, 3, 8, 8) and batch.dtype == torch.float32
    seen = [i for batch in batches for i in _indices(batch)]
    assert len(set(seen)) == 10 and set(seen) <= set(range(12))


def test_shuffle_is_reproducible_by_seed(tmp_path):
    path = _solid_images(tmp_path / "images")
    orders = _epoch_orders(ImageDataModule(path, resolution=8, batch_size=4, num_workers=0, seed=1))
    again = _epoch_orders(ImageDataModule(path, resolution=8, batch_size=4, num_workers=0, seed=1))
    other = _epoch_orders(ImageDataModule(path, resolution=8, batch_size=4, num_workers=0, seed=2))
    workers = _epoch_orders(ImageDataModule(path, resolution=8, batch_size=4, num_workers=1, seed=1))
    assert orders == again == workers  # the order does not depend on the number of workers
    assert orders != other
    assert orders[0] != orders[1]  # each epoch draws a new permutation
    assert sorted(orders[0]) == list(range(12))


def test_distributed_sampler_injection_keeps_the_loader_settings(tmp_path):
    """What Lightning does under DDP with use_distributed_sampler=True: rebuild the loader with its sampler."""
    datamodule = ImageDataModule(_solid_images(tmp_path / "images"), resolution=8, batch_size=2, num_workers=0)
    loader = datamodule.train_dataloader()
    shards = []
    for rank in range(2):
        sampler = DistributedSampler(loader.dataset, num_replicas=2, rank=rank, shuffle=True, seed=0)
        rebuilt = _update_dataloader(loader, sampler)
        assert rebuilt.drop_last and rebuilt.batch_size == 2 and rebuilt.generator is loader.generator
        shards.append([i for batch in rebuilt for i in _indices(batch)])
    assert len(shards[0]) == len(shards[1]) == 6
    assert sorted(shards[0] + shards[1]) == list(range(12))


def test_hflip_and_epoch_reach_the_dataset(tmp_path):
    datamodule = ImageDataModule(_solid_images(tmp_path / "images"), resolution=8, hflip=True, seed=5)
    datamodule.setup("fit")
    assert datamodule.dataset.hflip and datamodule.dataset.seed == 5
    datamodule.set_epoch(3)
    assert datamodule.dataset.epoch == 3


def test_fewer_images_than_a_batch_is_an_error(tmp_path):
    datamodule = ImageDataModule(_solid_images(tmp_path / "images", count=3), resolution=8, batch_size=4)
    with pytest.raises(DataError, match=r"has 3 images, fewer than data.batch_size=4"):
        datamodule.train_dataloader()


def test_corrupt_files_fail_or_are_skipped(tmp_path):
    path = _solid_images(tmp_path / "images", count=4)
    (path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match="the first is bad.png"):
        ImageDataModule(path, resolution=8, batch_size=2).setup("fit")
    datamodule = ImageDataModule(path, resolution=8, batch_size=2, skip_corrupt=True)
    with pytest.warns(UserWarning, match="bad.png"):
        datamodule.setup("fit")
    assert datamodule.num_images == 4
    unchecked = ImageDataModule(path, resolution=8, batch_size=2, check_files=False)
    unchecked.setup("fit")
    assert unchecked.num_images == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resolution": 48}, "data.resolution must be a power of two between 8 and 1024, got 48"),
        ({"batch_size": 0}, "data.batch_size must be at least 1, got 0"),
        ({"num_workers": -1}, "data.num_workers must be non-negative, got -1"),
        ({"crop": [1, 2, 3]}, r"data.crop must be four integers \(left, top, width, height\), got \[1, 2, 3\]"),
        ({"crop": [0, -1, 3, 3]}, r"data.crop: a crop box needs left, top >= 0 and width, height >= 1"),
    ],
)
def test_invalid_options_fail_in_the_constructor_naming_the_key(tmp_path, kwargs, message):
    options = {"path": str(tmp_path / "not-there"), "resolution": 8, **kwargs}
    with pytest.raises(DataError, match=message):
        ImageDataModule(**options)


def test_a_missing_path_fails_in_setup_naming_it(tmp_path):
    datamodule = ImageDataModule(str(tmp_path / "not-there"), resolution=8)
    with pytest.raises(DataError, match="data path does not exist: .*not-there"):
        datamodule.setup("fit")
