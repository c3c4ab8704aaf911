"""GIRAFFE HD's mask losses of one G step, weighted as configured: a pure function of tensors.

The terms are the functions of :mod:`giraffehd.losses`; this adds them up with the weights of
:class:`~giraffehd.training.loss_settings.LossSettings` and keeps each term for logging.
Axis legend: B batch, H W height and width.
"""

from dataclasses import dataclass

from jaxtyping import Float
from torch import Tensor

from giraffehd.losses import (
    mask_binarization_loss,
    mask_coverage_loss,
    mask_excess_coverage_loss,
    mask_outside_box_loss,
    object_coverage_loss,
)
from giraffehd.training.loss_settings import LossSettings


@dataclass(frozen=True)
class MaskLosses:
    outside_box: Float[Tensor, ""]  # mask outside the object's projected box
    coverage: Float[Tensor, ""]  # too little of the box covered (plus too much of the image, with a ceiling)
    binarization: Float[Tensor, ""]  # mask away from 0 and 1
    object_coverage: Float[Tensor, ""]  # an object covering too little of its own box (0 when off)
    total: Float[Tensor, ""]  # the weighted sum the generator minimizes


def mask_losses(
    mask: Float[Tensor, "B 1 H W"],
    box: Float[Tensor, "B 1 H W"],
    settings: LossSettings,
    object_alpha: Float[Tensor, "B N h w"] | None = None,
    object_boxes: Float[Tensor, "B N h w"] | None = None,
) -> MaskLosses:
    """The mask losses of ``mask`` against the objects' projected ``box`` mask, weighted by ``settings``;
    with ``settings.mask_object_min_coverage``, also each object's own alpha against its own box."""
    outside_box = mask_outside_box_loss(mask, box)
    coverage = mask_coverage_loss(mask, box, settings.mask_min_coverage)
    if settings.mask_max_coverage is not None:
        coverage = coverage + mask_excess_coverage_loss(mask, settings.mask_max_coverage)
    binarization = mask_binarization_loss(mask)
    object_coverage = mask.new_zeros(())
    if settings.mask_object_min_coverage is not None:
        if object_alpha is None or object_boxes is None:
            raise ValueError("mask_object_min_coverage needs each object's alpha and box")
        object_coverage = object_coverage_loss(object_alpha, object_boxes, settings.mask_object_min_coverage)
    total = (
        settings.mask_box_weight * outside_box
        + settings.mask_coverage_weight * (coverage + object_coverage)
        + settings.mask_binarization_weight * binarization
    )
    return MaskLosses(outside_box, coverage, binarization, object_coverage, total)
