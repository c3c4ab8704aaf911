import pytest
import torch

from giraffehd.data.synthetic.writer import SyntheticSpec, synthesize
from giraffehd.evaluation.car.controls import evaluator_reader, sweep_values, swept_error
from giraffehd.evaluation.car.evaluator import EvaluatorError, load_evaluator, save_evaluator
from giraffehd.evaluation.car.evaluator_training import EvaluatorTraining, train_evaluator
from giraffehd.evaluation.labels import DatasetError, label_tensors, read_dataset
from giraffehd.evaluation.sources import synthetic_source
from giraffehd.scene import ScenePrior

TINY = dict(channels=(4, 8, 8, 8), hidden_dim=16, epochs=2, batch_size=8, heldout_fraction=0.25)


def test_training_is_deterministic(images):
    dataset = read_dataset(images.parent)
    first, report = train_evaluator(dataset, EvaluatorTraining(**TINY), progress=False)
    second, again = train_evaluator(dataset, EvaluatorTraining(**TINY), progress=False)
    for key, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[key]), key
    assert report["heldout"] == again["heldout"]
    assert report["training"]["num_heldout"] == 6 and report["training"]["num_train"] == 18
    other, _ = train_evaluator(dataset, EvaluatorTraining(**{**TINY, "seed": 1}), progress=False)
    assert not torch.equal(other.heads.weight, first.heads.weight)


def test_saved_evaluator_reads_the_same(images, tmp_path):
    dataset = read_dataset(images.parent)
    evaluator, report = train_evaluator(dataset, EvaluatorTraining(**{**TINY, "epochs": 1}), progress=False)
    path = save_evaluator(evaluator, report, tmp_path / "evaluator.pt")
    loaded = load_evaluator(path)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    assert torch.equal(loaded.evaluator.read(x).heading_deg, evaluator.read(x).heading_deg)
    assert loaded.report == report
    assert loaded.evaluator.read(torch.zeros(2, 3, 64, 64)).mask.shape == (2, 1, 32, 32)  # 64 px is resized


def test_bad_evaluator_files_name_themselves(tmp_path):
    with pytest.raises(EvaluatorError, match="evaluator not found: .*missing.pt"):
        load_evaluator(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(EvaluatorError, match="foreign.pt is not a giraffehd evaluator"):
        load_evaluator(tmp_path / "foreign.pt")


def test_datasets_are_checked(images, tmp_path):
    with pytest.raises(DatasetError, match="dataset folder not found"):
        read_dataset(tmp_path / "nothing")
    with pytest.raises(DatasetError, match="has no labels.json"):
        read_dataset(images)  # the image folder, not the dataset


def test_the_heading_is_the_rotation_seen_from_the_camera(tmp_path):
    # A camera that moves in azimuth: the heading is rotation minus azimuth, not the rotation itself.
    prior = ScenePrior(z_dim=1, azimuth_deg=[30, 60], scale=[[0.2, 0.2]] * 3, translation=[[0, 0]] * 3)
    synthesize(tmp_path / "cars", prior, SyntheticSpec(["car"], {"red": [0.8, 0.1, 0.1]}), 6, 32)
    dataset = read_dataset(tmp_path / "cars")
    labels = label_tensors(dataset)
    rotation = torch.tensor([r["objects"][0]["rotation_deg"] for r in dataset.records])
    assert labels.azimuth_deg.min() >= 30
    torch.testing.assert_close(labels.heading_deg, rotation - labels.azimuth_deg)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An evaluator trained for about half a minute on 480 cars at 32 px, and its dataset."""
    root = tmp_path_factory.mktemp("evaluator_data") / "cars"
    prior = ScenePrior(z_dim=1, elevation_deg=[10, 30], scale=[[0.2, 0.2]] * 3, translation=[[0, 0]] * 3)
    synthesize(root, prior, SyntheticSpec(["car"], {"red": [0.8, 0.1, 0.1], "blue": [0.1, 0.3, 0.8]}), 480, 32)
    dataset = read_dataset(root)
    settings = EvaluatorTraining(channels=(8, 16, 32, 32), hidden_dim=64, epochs=10, batch_size=32, lr=3e-3)
    evaluator, report = train_evaluator(dataset, settings, progress=False)
    return evaluator, report, dataset


@pytest.mark.slow
def test_the_datasets_own_renders_score_near_the_floor_and_a_frozen_knob_near_chance(trained):
    evaluator, report, dataset = trained
    assert report["heldout"]["heading_median_deg"] < 25 and report["heldout"]["colour_accuracy"] > 0.9
    source, values = synthetic_source(dataset), sweep_values(0, 360, 12, angular=True)
    reader = evaluator_reader(evaluator)
    real = swept_error(reader, source, dataset.prior, "rotation", values, range(6))
    frozen = swept_error(reader, source, dataset.prior, "rotation", values, range(6), hold_knob=True)
    assert real.median < 25 and real.mean < 40 and real.sign == 1
    assert frozen.mean == pytest.approx(90, abs=1)
