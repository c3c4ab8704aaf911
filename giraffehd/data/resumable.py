"""Data order that survives a restart: an epoch-seeded sampler and a loader Lightning can checkpoint.

* :class:`EpochSampler` orders the images by a permutation that depends only on (seed, epoch).
  Lightning calls ``set_epoch`` on the sampler at every epoch start, also after resuming, so the
  order of epoch e is the same in one run and in a resumed one.
* :class:`ResumableDataLoader` has ``state_dict`` / ``load_state_dict`` (Lightning checkpoints loaders
  that have them): it records how many batches of the current epoch were consumed and, after a
  restore, skips that many at the start of the next pass, so a run resumed mid-epoch sees exactly the
  batches an uninterrupted run would have seen.
"""

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Sampler


class EpochSampler(Sampler[int]):
    """A random permutation of ``range(num_items)`` seeded by (seed, epoch)."""

    def __init__(self, num_items: int, seed: int = 0) -> None:
        self.num_items = num_items
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.num_items, generator=rng).tolist())

    def __len__(self) -> int:
        return self.num_items


class ResumableDataLoader(DataLoader):
    """A DataLoader whose position within the current epoch is saved and restored by Lightning."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._consumed = 0
        self._skip = 0

    def __iter__(self) -> Iterator:
        skip, self._skip = self._skip, 0
        self._consumed = skip
        iterator = super().__iter__()
        for _ in range(skip):
            next(iterator)
        for batch in iterator:
            self._consumed += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"consumed": self._consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._skip = int(state["consumed"])
