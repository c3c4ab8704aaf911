"""The reader networks' kit: one file format, one fitting loop, the shared augmentation."""

import pytest
import torch
from torch import nn

from giraffehd.networks.readers import (
    ReaderFile,
    blur_and_noise,
    epochs_of,
    fit,
    load_reader,
    save_reader,
    warmup_cosine,
)


class ToyError(ValueError):
    pass


TOY = ReaderFile("giraffehd-toy-1", "toy reader", "make one with: toy", ToyError)


class Toy(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.linear = nn.Linear(width, 1)

    def arguments(self) -> dict:
        return {"width": self.width}


def test_a_saved_reader_loads_with_its_weights_and_report_in_eval_mode(tmp_path):
    torch.manual_seed(0)
    toy = Toy(3)
    path = save_reader(toy, TOY, {"error": 0.5}, tmp_path / "toy.pt")
    loaded, report = load_reader(path, TOY, lambda arguments: Toy(**arguments))
    assert report == {"error": 0.5} and loaded.width == 3 and not loaded.training
    assert torch.equal(loaded.linear.weight, toy.linear.weight)
    assert not any(p.requires_grad for p in loaded.parameters())


def test_a_reader_file_that_does_not_fit_is_one_line_naming_the_file(tmp_path):
    path = save_reader(Toy(3), TOY, {}, tmp_path / "toy.pt")
    with pytest.raises(ToyError, match=r"toy.pt does not match the toy reader: .*size mismatch") as caught:
        load_reader(path, TOY, lambda arguments: Toy(4))
    assert "\n" not in str(caught.value)
    with pytest.raises(ToyError, match=r"toy reader not found: .*missing.pt \(make one with: toy\)"):
        load_reader(tmp_path / "missing.pt", TOY, lambda arguments: Toy(**arguments))
    other = ReaderFile("giraffehd-other-1", "other reader", "", ToyError)
    with pytest.raises(ToyError, match="is not a giraffehd other reader"):
        load_reader(path, other, lambda arguments: Toy(**arguments))


def test_epochs_visit_every_item_once_in_a_fresh_order():
    rng = torch.Generator().manual_seed(0)
    batches = list(epochs_of(10, 4, 2, rng))
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4, 2]
    first, second = torch.cat(batches[:3]), torch.cat(batches[3:])
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(10))
    assert not torch.equal(first, second)


def test_the_schedule_warms_up_then_decays_to_zero():
    share = warmup_cosine(total_steps=100, warmup_steps=10)
    assert share(0) == pytest.approx(0.1) and share(9) == pytest.approx(
        0.5 * (1 + torch.cos(torch.tensor(0.09 * torch.pi))).item()
    )
    assert share(50) == pytest.approx(0.5) and share(100) == pytest.approx(0.0)


def test_fit_takes_one_step_per_batch_at_the_shaped_rate():
    torch.manual_seed(0)
    toy = Toy(2)
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    losses = []

    def loss_of(_batch):
        return (toy.linear(x) - y).pow(2).mean()

    before = toy.linear.weight.clone()
    assert fit(toy, range(3), loss_of, lr=0.1, lr_share=lambda step: 0.0, on_step=losses.append) == 3
    assert torch.equal(toy.linear.weight, before) and len(losses) == 3  # a zero rate leaves the weights
    assert not toy.training and not toy.linear.weight.requires_grad
    fit(toy, range(50), loss_of, lr=0.05, lr_share=lambda step: 1.0, on_step=losses.append)
    assert losses[-1] < 0.5 * losses[0]  # and a positive one fits


def test_blur_and_noise_is_seeded_and_leaves_a_flat_image_flat_but_for_noise():
    flat = torch.full((2, 3, 8, 8), 0.25)
    a = blur_and_noise(flat, torch.Generator().manual_seed(1))
    b = blur_and_noise(flat, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert (a - flat).abs().max() < 0.03 * 6  # blurring a flat image changes nothing; the noise is small
