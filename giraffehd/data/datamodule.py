"""The LightningDataModule that serves a folder or zip of real images for training.

Order: on one device the loader shuffles with an :class:`~giraffehd.data.resumable.EpochSampler`, whose
permutation depends only on (``seed``, epoch), whatever ``num_workers``; the loader is a
:class:`~giraffehd.data.resumable.ResumableDataLoader`, so a run resumed from a checkpoint, even
mid-epoch, continues with exactly the batches an uninterrupted run would have seen.

DDP: with ``use_distributed_sampler=True`` (Lightning's default) Lightning rebuilds the loader around its
own ``DistributedSampler`` in place of the ``RandomSampler``: each rank reads a disjoint shard in an
order set by Lightning's global seed (``seed_everything``, else 0) and the epoch; ``seed`` then no longer
decides the order (it still decides the flips). Batch size, ``drop_last`` and workers are kept.

Flips depend on the dataset's epoch: call :meth:`ImageDataModule.set_epoch` from the LightningModule's
``on_train_epoch_start`` (Lightning calls that hook before it starts iterating epochs after the first);
otherwise every epoch flips like epoch 0.
"""

import math
from collections.abc import Sequence
from pathlib import Path

import lightning
import torch

from giraffehd.data.image_dataset import ImageDataset
from giraffehd.data.image_files import CropBox, DataError, check_images, check_resolution, find_images
from giraffehd.data.resumable import EpochSampler, ResumableDataLoader


class ImageDataModule(lightning.LightningDataModule):
    """Training images from ``path`` (a folder tree or a .zip), at ``resolution`` x ``resolution``."""

    def __init__(
        self,
        path: str | Path,
        resolution: int,
        batch_size: int = 16,
        num_workers: int = 2,
        hflip: bool = False,
        skip_corrupt: bool = False,
        crop: Sequence[int] | None = None,
        seed: int = 0,
        check_files: bool = True,
    ) -> None:
        super().__init__()
        check_resolution(resolution)
        if batch_size < 1:
            raise DataError(f"data.batch_size must be at least 1, got {batch_size}")
        if num_workers < 0:
            raise DataError(f"data.num_workers must be non-negative, got {num_workers}")
        if crop is not None and len(crop) != 4:
            raise DataError(f"data.crop must be four integers (left, top, width, height), got {list(crop)}")
        self.path = path
        self.resolution = resolution
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.hflip = hflip
        self.skip_corrupt = skip_corrupt
        try:
            self.crop = None if crop is None else CropBox(*(int(value) for value in crop))
        except DataError as error:
            raise DataError(f"data.crop: {error}") from None
        self.seed = seed
        self.check_files = check_files
        self.dataset: ImageDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        """Find (and, with ``check_files``, verify) the images and build the dataset, once."""
        if self.dataset is not None:
            return
        collection = find_images(self.path)
        if self.check_files:
            collection = check_images(
                collection, skip_corrupt=self.skip_corrupt, resolution=self.resolution, skip_key="data.skip_corrupt"
            )
        self.dataset = ImageDataset(collection, self.resolution, hflip=self.hflip, crop=self.crop, seed=self.seed)

    @property
    def num_images(self) -> int:
        if self.dataset is None:
            raise RuntimeError("ImageDataModule.num_images is known only after setup()")
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Tell the dataset (and its worker processes) which epoch is next, for the seeded flips."""
        if self.dataset is None:
            raise RuntimeError("ImageDataModule.set_epoch needs setup() first")
        self.dataset.set_epoch(epoch)

    def train_dataloader(self) -> ResumableDataLoader:
        if self.dataset is None:
            self.setup("fit")
        assert self.dataset is not None
        world_size = self.trainer.world_size if self.trainer is not None else 1
        per_device = math.ceil(len(self.dataset) / world_size)  # what a DistributedSampler gives each rank
        if per_device < self.batch_size:
            where = f" per device on {world_size} devices" if world_size > 1 else ""
            raise DataError(f"{self.path} has {per_device} images{where}, fewer than data.batch_size={self.batch_size}")
        return ResumableDataLoader(
            self.dataset,
            batch_size=self.batch_size,
            sampler=EpochSampler(len(self.dataset), seed=self.seed),
            # Worker seeds from a generator of their own, so the order depends on ``seed`` alone.
            generator=torch.Generator().manual_seed(self.seed + 1),
            drop_last=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )
