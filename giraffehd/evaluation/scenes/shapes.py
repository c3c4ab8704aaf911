"""Which shapes a model draws: the share of each class the scene evaluator reads in its scenes, against
the shares in the data set, as total variation (half the L1 distance between the two distributions: 0 for
the same shares, 1 for shapes the data never has).

The same scenes rendered by the data set's own renderer give the floor: the reader's misreadings and the
sampling noise of that many objects, which a model cannot be expected to beat.
"""

from collections import Counter
from dataclasses import dataclass

import torch

from giraffehd.evaluation.labels import SyntheticDataset
from giraffehd.evaluation.scenes.controls import SceneReader, render_and_read
from giraffehd.evaluation.sources import ImageSource
from giraffehd.scene import SceneParameters


@dataclass(frozen=True)
class ShapeShares:
    shares: dict[str, float]  # class name -> share of the objects read as that class
    objects_read: int
    total_variation: float  # against the data set's shares
    data_shares: dict[str, float]  # the data set's own shares (from its labels)
    chance: float  # the total variation of a model that draws only the data's most common class


def data_shares(dataset: SyntheticDataset) -> dict[str, float]:
    """The share of each class among every object of the data set's labels."""
    counts = Counter(obj["class"] for record in dataset.records for obj in record["objects"])
    total = sum(counts.values())
    if total == 0:
        raise ValueError(f"dataset {dataset.root} labels no objects: no shape shares to compare against")
    return {name: counts[name] / total for name in dataset.classes}


def total_variation(first: dict[str, float], second: dict[str, float]) -> float:
    """Half the L1 distance between two distributions over the same names."""
    return 0.5 * sum(abs(first[name] - second[name]) for name in first)


def shape_shares(
    source: ImageSource, reader: SceneReader, scenes: SceneParameters, batch_size: int, dataset: SyntheticDataset
) -> ShapeShares:
    """The classes read in ``scenes`` rendered by ``source``, as shares, against the data set's shares."""
    _, readings = render_and_read(source, reader, scenes, batch_size)
    classes = torch.cat([torch.zeros(0, dtype=torch.long), *(reading.class_index for reading in readings)])
    counts = torch.bincount(classes, minlength=len(dataset.classes)).tolist()
    total = sum(counts)
    shares = {name: (counts[k] / total if total else 0.0) for k, name in enumerate(dataset.classes)}
    reference = data_shares(dataset)
    return ShapeShares(
        shares=shares,
        objects_read=total,
        total_variation=total_variation(shares, reference) if total else 1.0,
        data_shares=reference,
        chance=1.0 - max(reference.values()),
    )
