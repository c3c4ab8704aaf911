"""Loss settings check their own values, with one-line errors naming the field; the mask losses add up."""

import pytest
import torch

from giraffehd.training.loss_settings import LossSettings
from giraffehd.training.mask_losses import mask_losses


def test_defaults_are_giraffe_hds():
    settings = LossSettings()
    assert (settings.r1_gamma, settings.r1_interval) == (10.0, 16)
    assert (settings.mask_box_weight, settings.mask_coverage_weight, settings.mask_binarization_weight) == (14, 14, 4)
    assert (settings.mask_min_coverage, settings.mask_max_coverage, settings.mask_box_pad) == (0.3, None, 0.1)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"r1_gamma": -1.0}, r"^r1_gamma must not be negative, got -1\.0$"),
        ({"r1_interval": -2}, r"^r1_interval must not be negative, got -2$"),
        ({"mask_box_weight": -0.5}, r"^mask_box_weight must not be negative"),
        ({"mask_box_pad": float("nan")}, r"^mask_box_pad must not be negative, got nan$"),
        ({"mask_min_coverage": 1.5}, r"^mask_min_coverage must be in \[0, 1\]"),
        ({"mask_min_coverage": -0.1}, r"^mask_min_coverage must not be negative"),
        ({"mask_max_coverage": 0.0}, r"^mask_max_coverage must be None \(no ceiling\) or in \(0, 1\], got 0\.0$"),
        ({"mask_max_coverage": 1.5}, r"^mask_max_coverage must be None"),
        ({"mask_object_min_coverage": 0.0}, r"^mask_object_min_coverage must be None \(off\) or in \(0, 1\]"),
        ({"mask_object_min_coverage": -0.2}, r"^mask_object_min_coverage must be None"),
    ],
)
def test_bad_values_are_refused_naming_the_field(values, message):
    with pytest.raises(ValueError, match=message):
        LossSettings(**values)


def test_edge_values_are_accepted():
    LossSettings(r1_gamma=0.0, r1_interval=0, mask_min_coverage=1.0, mask_max_coverage=1.0)


def test_mask_losses_are_the_weighted_terms():
    mask = torch.zeros(2, 1, 4, 4)
    mask[:, :, :, :2] = 0.5  # half the image at 0.5
    box = torch.zeros_like(mask)
    box[:, :, :, 1:3] = 1.0  # the middle two columns
    settings = LossSettings(
        mask_box_weight=2.0, mask_coverage_weight=3.0, mask_binarization_weight=5.0, mask_min_coverage=0.5
    )
    losses = mask_losses(mask, box, settings)
    assert losses.outside_box.item() == pytest.approx(0.5 * 4 / 16)  # column 0 at 0.5 lies outside the box
    assert losses.coverage.item() == pytest.approx(0.5 - 0.25)  # the box is covered 0.5 on half its area
    assert losses.binarization.item() == pytest.approx(0.25)  # min(0.5, 0.5) on half the image
    assert losses.total.item() == pytest.approx(2.0 * 0.125 + 3.0 * 0.25 + 5.0 * 0.25)
    capped = mask_losses(mask, box, LossSettings(mask_min_coverage=0.5, mask_max_coverage=0.1))
    assert capped.coverage.item() == pytest.approx(0.25 + (0.25 - 0.1))  # plus the share of the image above 0.1


def test_the_object_coverage_term_is_off_by_default_and_weighted_like_coverage_when_on():
    mask = torch.full((1, 1, 2, 2), 1.0)
    box = torch.ones_like(mask)
    alpha = torch.zeros(1, 2, 2, 2)
    alpha[0, 0] = 1.0  # object 1 draws nothing
    boxes = torch.ones(1, 2, 2, 2)
    off = mask_losses(mask, box, LossSettings(), alpha, boxes)
    assert off.object_coverage.item() == 0.0
    on = mask_losses(mask, box, LossSettings(mask_coverage_weight=3.0, mask_object_min_coverage=0.4), alpha, boxes)
    assert on.object_coverage.item() == pytest.approx(0.4 / 2)
    assert on.total.item() == pytest.approx(off.total.item() + 3.0 * 0.2)
    with pytest.raises(ValueError, match="needs each object's alpha and box"):
        mask_losses(mask, box, LossSettings(mask_object_min_coverage=0.4))
