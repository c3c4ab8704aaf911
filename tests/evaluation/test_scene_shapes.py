"""The shape shares a reader finds in a model's scenes, against the data set's, as total variation."""

from pathlib import Path

import pytest
import torch

from giraffehd.evaluation.labels import SyntheticDataset
from giraffehd.evaluation.scenes.evaluator import ObjectReading
from giraffehd.evaluation.scenes.shapes import data_shares, shape_shares, total_variation
from giraffehd.evaluation.sources import Rendered
from giraffehd.scene import ScenePrior

CLASSES = ["box", "sphere", "cylinder"]


def _dataset(objects_per_class: dict[str, int]) -> SyntheticDataset:
    objects = [{"class": name} for name, count in objects_per_class.items() for _ in range(count)]
    records = [{"objects": objects[i : i + 2]} for i in range(0, len(objects), 2)]
    return SyntheticDataset(Path("data"), 32, CLASSES, {"red": [1.0, 0.0, 0.0]}, ScenePrior(z_dim=1), records, None)


def _reader_of(class_lists: list[list[int]]):
    """A reader that reads the given classes, image by image, in order."""
    queue = list(class_lists)

    def read(images):
        out = []
        for _ in range(images.shape[0]):
            classes = torch.tensor(queue.pop(0), dtype=torch.long)
            k = classes.numel()
            out.append(ObjectReading(torch.zeros(k, 2), classes, torch.zeros(k, dtype=torch.long),
                                     torch.zeros(k, 4, 4, dtype=torch.bool)))  # fmt: skip
        return out

    return read


def _source(scenes):
    return Rendered(torch.zeros(scenes.batch_size, 3, 4, 4), torch.zeros(scenes.batch_size, 1, 4, 4))


def test_total_variation_is_half_the_l1_distance():
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0.0
    assert total_variation({"a": 1.0, "b": 0.0}, {"a": 0.0, "b": 1.0}) == 1.0
    assert total_variation({"a": 0.54, "b": 0.21, "c": 0.25}, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}) == pytest.approx(
        0.54 - 1 / 3
    )


def test_the_data_shares_count_every_labelled_object():
    assert data_shares(_dataset({"box": 2, "sphere": 1, "cylinder": 1})) == {
        "box": 0.5,
        "sphere": 0.25,
        "cylinder": 0.25,
    }
    with pytest.raises(ValueError, match="labels no objects"):
        data_shares(_dataset({}))


def test_a_model_that_leans_to_boxes_is_measured_against_the_data():
    dataset = _dataset({"box": 4, "sphere": 4, "cylinder": 4})
    scenes = ScenePrior(num_objects=2, z_dim=1).sample(3, torch.Generator().manual_seed(0))
    reader = _reader_of([[0, 0], [0, 1], [2, 0]])  # 4 boxes, 1 sphere, 1 cylinder
    result = shape_shares(_source, reader, scenes, batch_size=2, dataset=dataset)
    assert result.objects_read == 6 and result.shares == pytest.approx(
        {"box": 4 / 6, "sphere": 1 / 6, "cylinder": 1 / 6}
    )
    assert result.total_variation == pytest.approx(4 / 6 - 1 / 3)
    assert result.chance == pytest.approx(2 / 3)  # a model of boxes alone
    nothing = shape_shares(_source, _reader_of([[], [], []]), scenes, batch_size=3, dataset=dataset)
    assert nothing.objects_read == 0 and nothing.total_variation == 1.0  # nothing read: as far as can be
