"""A map-style dataset of square training images in [-1, 1], with seeded horizontal flips."""

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor
from torch.utils.data import Dataset

from giraffehd.data.image_files import CropBox, DataError, ImageCollection, check_resolution, resize_and_crop


class ImageDataset(Dataset):
    """Images of a collection, cropped and resized to ``resolution`` x ``resolution``, as (3, R, R) floats.

    With ``hflip`` each image is mirrored with probability 1/2, decided by an ``rng`` seeded from
    (seed, epoch, index): the same item in the same epoch is always flipped the same way, whatever the
    number of DataLoader workers. The epoch lives in shared memory, so :meth:`set_epoch` in the main
    process reaches worker processes too, persistent ones included; call it before iterating an epoch.
    """

    def __init__(
        self,
        collection: ImageCollection,
        resolution: int,
        hflip: bool = False,
        crop: CropBox | None = None,
        seed: int = 0,
    ) -> None:
        check_resolution(resolution)
        self.collection = collection
        self.resolution = resolution
        self.hflip = hflip
        self.crop = crop
        self.seed = seed
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        return len(self.collection)

    @property
    def epoch(self) -> int:
        return int(self._epoch.item())

    def set_epoch(self, epoch: int) -> None:
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, got {epoch}")
        self._epoch.fill_(epoch)

    def is_flipped(self, index: int) -> bool:
        """Whether item ``index`` is mirrored in the current epoch."""
        if not self.hflip:
            return False
        index = range(len(self))[index]  # negative indices count from the end, as in __getitem__
        entropy = np.random.SeedSequence([self.seed % 2**64, self.epoch, index])
        rng = torch.Generator().manual_seed(int(entropy.generate_state(1, dtype=np.uint64)[0]))
        return bool(torch.rand((), generator=rng) < 0.5)

    def __getitem__(self, index: int) -> Float[Tensor, "3 R R"]:
        index = range(len(self))[index]
        image = self.collection.read(index)
        try:
            square = resize_and_crop(image, self.resolution, self.crop)
        except ValueError as error:
            name = self.collection.names[index]
            raise DataError(f"cannot crop image {name} in {self.collection.root}: {error}") from None
        if self.is_flipped(index):
            square = square[:, ::-1]
        pixels = torch.from_numpy(np.ascontiguousarray(square)).permute(2, 0, 1)
        return pixels.to(torch.float32) / 127.5 - 1.0
