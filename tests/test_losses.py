import math

import pytest
import torch
import torch.nn.functional as F

from giraffehd.losses import (
    discriminator_loss,
    generator_loss,
    mask_binarization_loss,
    mask_coverage_loss,
    mask_excess_coverage_loss,
    mask_outside_box_loss,
    nonfinite_check,
    object_coverage_loss,
    r1_penalty,
)
from giraffehd.networks.discriminator import Discriminator


def test_gan_losses_closed_forms():
    zeros = torch.zeros(5)
    assert generator_loss(zeros).item() == pytest.approx(math.log(2))
    assert discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    fake = torch.tensor([-1.0, 0.5, 2.0])
    sure_real = torch.full((4,), 100.0)
    assert discriminator_loss(sure_real, fake).item() == pytest.approx(F.softplus(fake).mean().item(), abs=1e-6)
    # Confident, correct D: both losses near 0; G loss large when D rejects the fakes.
    assert discriminator_loss(sure_real, torch.full((3,), -100.0)).item() < 1e-6
    assert generator_loss(torch.full((3,), -20.0)).item() == pytest.approx(20.0, rel=1e-6)
    assert generator_loss(torch.tensor([1.0, -2.0])).item() == pytest.approx(
        (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(2.0))) / 2
    )


def test_r1_of_a_linear_discriminator_is_the_squared_weight_norm():
    w = torch.randn(3, 4, 4, dtype=torch.float64, requires_grad=True)
    images = torch.randn(5, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    logits = (images * w).sum(dim=(1, 2, 3))
    penalty = r1_penalty(logits, images)
    torch.testing.assert_close(penalty, w.detach().square().sum())
    penalty.backward()  # create_graph=True: the penalty is a function of D's parameters
    torch.testing.assert_close(w.grad, 2 * w.detach())


def test_r1_backpropagates_into_the_discriminator():
    d = Discriminator(16, channel_base=128, channel_max=16, channel_min=8)
    images = torch.randn(4, 3, 16, 16, requires_grad=True)
    penalty = r1_penalty(d(images), images)
    assert penalty.dim() == 0 and penalty > 0
    penalty.backward()
    # Every weight shapes the input gradient; biases after the last nonlinearity do not (lrelu is piecewise linear).
    for name, parameter in d.named_parameters():
        if name.endswith("weight"):
            assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
            assert parameter.grad.abs().sum() > 0, name


def _half_box(batch=2, size=8):
    box = torch.zeros(batch, 1, size, size)
    box[..., : size // 2] = 1.0  # left half of each image
    return box


def test_outside_box_loss():
    box = _half_box()
    assert mask_outside_box_loss(box, box).item() == 0.0
    assert mask_outside_box_loss(0.7 * box, box).item() == 0.0
    assert mask_outside_box_loss(1 - box, box).item() == pytest.approx(0.5)  # half the image, all outside
    assert mask_outside_box_loss(torch.ones_like(box), torch.zeros_like(box)).item() == 1.0  # the maximum
    mask = torch.rand_like(box)
    assert mask_outside_box_loss(mask, box).item() == pytest.approx((mask[..., 4:].sum() / mask.numel()).item())


def test_coverage_loss_relative_to_the_box():
    box = _half_box(batch=2, size=8)  # 32 box pixels per image
    mask = torch.zeros_like(box)
    mask[..., :2, :4] = 1.0  # 8 of the 32 box pixels: coverage 0.25
    mask[..., :, 4:] = 1.0  # outside the box: does not count
    assert mask_coverage_loss(mask, box, 0.3).item() == pytest.approx(0.05)
    assert mask_coverage_loss(mask, box, 0.2).item() == 0.0
    assert mask_coverage_loss(box, box, 0.3).item() == 0.0
    assert mask_coverage_loss(torch.zeros_like(box), box, 0.3).item() == pytest.approx(0.3)


def test_coverage_loss_relative_to_the_image_is_giraffe_hd():
    mask = torch.rand(3, 1, 6, 6) * 0.4
    expected = F.relu(0.3 - mask.mean())
    torch.testing.assert_close(mask_coverage_loss(mask, None, 0.3), expected)
    assert mask_coverage_loss(torch.full((2, 1, 4, 4), 0.5), None, 0.3).item() == 0.0


def test_coverage_loss_skips_images_without_a_box():
    box = _half_box(batch=2)
    box[1] = 0.0  # no object in view in image 1
    mask = torch.zeros_like(box)
    mask[0, ..., :4] = 1.0  # image 0 fully covers its box
    assert mask_coverage_loss(mask, box, 0.3).item() == 0.0
    assert mask_coverage_loss(mask, torch.zeros_like(box), 0.3).item() == 0.0
    # The gradient pushes the mask up inside the box only.
    low = torch.full_like(box, 0.1, requires_grad=True)
    mask_coverage_loss(low, _half_box(), 0.3).backward()
    assert torch.all(low.grad[..., :4] < 0) and torch.all(low.grad[..., 4:] == 0)


def test_binarization_loss():
    binary = (torch.rand(2, 1, 5, 5) > 0.5).float()
    assert mask_binarization_loss(binary).item() == 0.0
    assert mask_binarization_loss(torch.full((1, 1, 3, 3), 0.5)).item() == pytest.approx(0.5)
    values = torch.linspace(0, 1, 101).reshape(1, 1, 1, 101)
    per_value = torch.stack([mask_binarization_loss(values[..., k : k + 1]) for k in range(101)])
    assert per_value.argmax().item() == 50 and per_value.max().item() == pytest.approx(0.5)
    torch.testing.assert_close(per_value, per_value.flip(0))  # symmetric about 0.5


def test_nonfinite_check_names_the_first_bad_value():
    assert nonfinite_check({"g": torch.tensor(1.0), "d": torch.tensor([0.0, 2.0]), "r1": 3.0}) is None
    bad = {"g": torch.tensor(1.0), "d": torch.tensor([0.0, float("nan")]), "r1": torch.tensor(float("inf"))}
    assert nonfinite_check(bad) == "d"
    assert nonfinite_check({"g": torch.tensor(-float("inf"))}) == "g"
    assert nonfinite_check({"lr": float("nan")}) == "lr"
    assert nonfinite_check({}) is None


def test_excess_coverage_is_a_hinge_on_the_batch_mean_share_of_the_image():
    mask = torch.zeros(2, 1, 4, 4)
    mask[0, :, :2] = 1.0  # 50% of image 0
    mask[1, :, :1] = 1.0  # 25% of image 1: batch mean 37.5%
    assert mask_excess_coverage_loss(mask, 0.25).item() == pytest.approx(0.125)
    assert mask_excess_coverage_loss(mask, 0.375).item() == 0.0
    mask.requires_grad_(True)
    mask_excess_coverage_loss(mask, 0.1).backward()
    assert torch.all(mask.grad > 0)


def test_object_coverage_holds_each_object_to_its_own_box():
    boxes = torch.zeros(1, 3, 4, 4)
    boxes[0, 0, :2, :2] = 1  # object 0: top-left quarter
    boxes[0, 1, 2:, 2:] = 1  # object 1: bottom-right quarter; object 2: absent (no box)
    alpha = torch.zeros(1, 3, 4, 4)
    alpha[0, 0, :2, :2] = 1.0  # object 0 fills its box
    alpha[0, 2] = 1.0  # the absent object's alpha does not count
    # Object 1 draws nothing: it alone pays the hinge, averaged over the two objects in view.
    assert object_coverage_loss(alpha, boxes, 0.2).item() == pytest.approx(0.2 / 2)
    # Object 0 covering all of object 1's box does not help object 1 (the whole-mask hinge would be 0).
    alpha[0, 0, 2:, 2:] = 1.0
    assert object_coverage_loss(alpha, boxes, 0.2).item() == pytest.approx(0.1)
    alpha[0, 1, 2:, 2:] = 0.5
    assert object_coverage_loss(alpha, boxes, 0.2).item() == 0.0
    assert object_coverage_loss(alpha, torch.zeros_like(boxes), 0.2).item() == 0.0  # nothing in view


def test_object_coverage_pushes_an_empty_object_up_and_leaves_a_covered_one():
    boxes = torch.ones(1, 2, 2, 2)
    alpha = torch.tensor([0.0, 0.9]).reshape(1, 2, 1, 1).expand(1, 2, 2, 2).clone().requires_grad_(True)
    object_coverage_loss(alpha, boxes, 0.3).backward()
    assert (alpha.grad[0, 0] < 0).all() and (alpha.grad[0, 1] == 0).all()
