import pytest
import torch
from conftest import tiny_generator
from torch import nn

from giraffehd.part_timing import count_flops, forward_breakdown, present_parts
from giraffehd.scene import ScenePrior


class Clock:
    """A clock that moves only when a part says it worked: timings are exact, whatever the machine's load."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Working(nn.Module):
    """A linear layer that also takes ``seconds`` on the clock: a part with known time and known FLOPs."""

    def __init__(self, clock: Clock, seconds: float, features: int = 8):
        super().__init__()
        self.linear = nn.Linear(features, features)
        self.clock, self.seconds = clock, seconds

    def forward(self, x):
        self.clock.now += self.seconds
        return self.linear(x)


class Features(nn.Module):
    def __init__(self, clock: Clock):
        super().__init__()
        self.clock = clock
        self.object_field = Working(clock, 0.03)
        self.background_field = Working(clock, 0.0)

    def forward(self, x):
        self.clock.now += 0.02  # the 3D half's own work: what the remainder row must show
        return self.background_field(self.object_field(x))


class Toy(nn.Module):
    """Laid out like the generator: styles, features.{object,background}_field, no compositor."""

    def __init__(self, clock: Clock | None = None):
        super().__init__()
        self.styles = nn.Linear(8, 8)
        self.features = Features(clock or Clock())

    def forward(self, x):
        return self.features(self.styles(x))


def test_parts_are_found_by_path_and_missing_ones_are_skipped():
    assert list(present_parts(Toy())) == ["mapping networks", "object field", "background field"]


def test_breakdown_times_each_part_and_the_parents_remainder():
    clock = Clock()
    toy, x = Toy(clock), torch.randn(4, 8)
    breakdown = forward_breakdown(toy, lambda: toy(x), repeats=2, clock=clock)
    parts = {part.name: part for part in breakdown.parts}
    assert breakdown.seconds == pytest.approx(0.05)
    assert parts["object field"].seconds == pytest.approx(0.03)
    assert parts["rays, sampling, volume rendering"].seconds == pytest.approx(0.02)  # the parent less its parts
    assert "background field" not in parts  # it took no time
    assert parts["object field"].share == pytest.approx(0.6)
    assert sum(part.share for part in breakdown.parts) <= 1.0 + 1e-6
    assert "mask and compositing" not in parts  # no compositor, no remainder for it
    # The hooks are gone afterwards.
    assert not toy.features.object_field._forward_hooks and not toy.features.object_field._forward_pre_hooks


def test_flops_of_a_linear_part_are_two_rows_inputs_outputs():
    toy, x = Toy(), torch.randn(4, 8)
    flops = count_flops(toy, present_parts(toy), lambda: toy(x))
    assert flops["object field"] == 2 * 4 * 8 * 8
    assert flops["total"] == 3 * 2 * 4 * 8 * 8


def test_breakdown_of_a_real_generator_names_its_renderers():
    generator = tiny_generator()
    scene = ScenePrior(z_dim=generator.z_dim).sample(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        breakdown = forward_breakdown(generator, lambda: generator(scene), repeats=1)
    parts = {part.name: part for part in breakdown.parts}
    for name in ("object field", "foreground renderer", "background renderer", "mask and compositing"):
        assert name in parts, name
    assert parts["foreground renderer"].flops > 0 and parts["object field"].flops > 0
