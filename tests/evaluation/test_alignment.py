import pytest
import torch

from giraffehd.evaluation.alignment import angular_control_error, circular_offset, linear_control_error, wrap_degrees


def sweep(num_seeds: int = 5, steps: int = 24) -> torch.Tensor:
    return (torch.arange(steps) * 360.0 / steps).expand(num_seeds, steps)


@pytest.mark.parametrize("sign", [1, -1])
def test_a_reading_with_any_offset_and_sign_has_no_error(sign):
    knob = sweep()
    offsets = torch.tensor([0.0, 37.0, -120.0, 179.0, 250.0])[:, None]
    error = angular_control_error(knob, wrap_degrees(sign * knob + offsets))
    assert error.mean == pytest.approx(0, abs=1e-3) and error.median == pytest.approx(0, abs=1e-3)
    assert error.sign == sign
    assert error.mean_global_offset > 10  # the offsets differ between seeds


def test_a_constant_reading_scores_a_quarter_turn():
    knob = sweep(steps=72)
    error = angular_control_error(knob, torch.full_like(knob, 33.0))
    assert error.mean == pytest.approx(90, abs=2.5)


def test_noise_reads_back_as_its_size():
    knob = sweep(num_seeds=8, steps=90)
    noise = 5 * torch.randn(knob.shape, generator=torch.Generator().manual_seed(0))
    error = angular_control_error(knob, wrap_degrees(knob + 40 + noise))
    assert error.mean == pytest.approx(5 * (2 / torch.pi) ** 0.5, rel=0.1)  # E|N(0, 5)|


def test_circular_offset_is_the_l1_optimum():
    residuals = wrap_degrees(torch.tensor([[170.0, -175.0, 178.0, -160.0, 10.0]]))
    grid = torch.arange(-180.0, 180.0, 0.25)
    costs = wrap_degrees(residuals[0][:, None] - grid[None]).abs().sum(dim=0)
    best = circular_offset(residuals)[0]
    assert wrap_degrees(residuals[0] - best).abs().sum() <= costs.min() + 1e-4


def test_linear_error_after_offset_and_sign():
    knob = torch.linspace(10, 30, 9).expand(4, 9)[..., None]
    read = -(knob - 20) + torch.tensor([1.0, 2.0, 3.0, 4.0])[:, None, None]
    error = linear_control_error(knob, read)
    assert error.mean == pytest.approx(0, abs=1e-5) and error.sign == -1
    constant = linear_control_error(knob, torch.zeros_like(knob))
    assert constant.mean == pytest.approx(5.0, abs=0.6)  # a quarter of the swept range


def test_the_share_of_images_far_off_counts_front_to_back_turns_that_the_mean_hides():
    knob = torch.linspace(0, 345, 24).repeat(4, 1)  # 4 seeds x 24 headings
    read = knob + 3.0
    read[0, 5] += 180.0  # one car read front to back
    read[2, 7] += 40.0
    error = angular_control_error(knob, read)
    assert error.share_far_off == pytest.approx(2 / 96)
    assert error.median == pytest.approx(0.0, abs=1e-4)
    assert linear_control_error(knob[..., None], read[..., None]).share_far_off is None  # lengths: no such share
