"""Training losses: pure functions, tensors in, scalar tensors out.

GAN losses follow StyleGAN2 (non-saturating logistic loss, R1 on real images). The mask losses follow
GIRAFFE HD (AustinXY/GIRAFFEHD, ``train.py``); each docstring says what that code does and where ours differs.
GIRAFFE HD's weights (per-dataset blocks of ``train.py``; every dataset sets the same except AFHQ's bbox 12):
bbox containment 14, coverage 14 with min ratio 0.3, binarization 4, R1 gamma 10 every 16 steps. (Its argparse
defaults, overridden by every dataset block, are bbox 10, coverage 10, min ratio 0.2, binarization 4.)

Axis legend: B batch, C channels, H W height and width.
"""

import math

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

# Weights of GIRAFFE HD's released training script (see the module docstring); the defaults of LossSettings.
BBOX_WEIGHT = 14.0
COVERAGE_WEIGHT = 14.0
COVERAGE_MIN_RATIO = 0.3
BINARIZATION_WEIGHT = 4.0
BBOX_PAD = 0.1


def generator_loss(fake_logits: Float[Tensor, " B"]) -> Float[Tensor, ""]:
    """Non-saturating generator loss: mean_b softplus(-D(G(z_b))) = mean_b -log sigmoid(D(G(z_b)))."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: Float[Tensor, " B"], fake_logits: Float[Tensor, " B2"]) -> Float[Tensor, ""]:
    """Logistic discriminator loss: mean softplus(D(fake)) + mean softplus(-D(real))."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def r1_penalty(real_logits: Float[Tensor, " B"], real_images: Float[Tensor, "B C H W"]) -> Float[Tensor, ""]:
    """R1: mean over the batch of |d D(x_b) / d x_b|^2, the squared gradient norm of each real logit.

    ``real_images`` must require grad and ``real_logits`` must be computed from them. The gradient is taken
    of ``real_logits.sum()`` (each logit depends only on its own image, up to minibatch-std coupling, as in
    StyleGAN2) with ``create_graph=True``, so the penalty can be backpropagated into D. Not weighted: the
    caller multiplies by gamma / 2, and by the lazy interval k when the penalty runs every k steps
    (StyleGAN2 and GIRAFFE HD: ``gamma / 2 * r1 * k``, gamma 10, k 16).
    """
    (gradient,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return gradient.square().flatten(1).sum(dim=1).mean()


def mask_outside_box_loss(mask: Float[Tensor, "B 1 H W"], box_mask: Float[Tensor, "B 1 H W"]) -> Float[Tensor, ""]:
    """Foreground mask outside the object's projected box: mean over batch and pixels of mask * (1 - box_mask).

    Zero when the mask lies inside the box; at most 1 (a full mask with an empty box). GIRAFFE HD computes
    exactly ``mean((1 - bbox) * mask)``, but its ``bbox`` is the soft silhouette of the padded 3D box,
    volume-rendered at the feature resolution (density 100 inside [-1 - pad, 1 + pad]^3 of the box frame)
    and bilinearly upsampled to the image, with the pad ramped linearly from 0 to 0.1 over the first 10k
    steps. Ours takes any box mask; :func:`giraffehd.rendering.box_projection.projected_box_mask` gives the
    axis-aligned rectangle around the projected corners, which contains that silhouette, so it is looser.
    """
    return (mask * (1.0 - box_mask)).mean()


def mask_coverage_loss(
    mask: Float[Tensor, "B 1 H W"], box_mask: Float[Tensor, "B 1 H W"] | None, min_ratio: float = COVERAGE_MIN_RATIO
) -> Float[Tensor, ""]:
    """Hinge on the mean foreground coverage: relu(min_ratio - mean_b coverage_b).

    coverage_b = sum(mask_b * region_b) / sum(region_b), the fraction of the region the mask covers, with
    region_b the box mask, or the whole image when ``box_mask`` is None. The hinge acts on the batch mean,
    so single images may stay below the ratio. Images with an empty region (no object in view) are left out;
    with none left the loss is 0.

    GIRAFFE HD: ``relu(min_ratio - mean(mask))`` with min ratio 0.3, i.e. the fraction of the whole IMAGE
    averaged over the batch; that is this function with ``box_mask=None``. Measuring against the box instead
    suits scenes whose objects fill only part of the frame, where 30% of the image would push the mask out of
    the box and fight :func:`mask_outside_box_loss`. ``min_ratio`` is checked where it is configured
    (:class:`~giraffehd.training.loss_settings.LossSettings`), not on every call.
    """
    region = torch.ones_like(mask) if box_mask is None else box_mask
    area = region.sum(dim=(1, 2, 3))
    valid = area > 0
    coverage = (mask * region).sum(dim=(1, 2, 3)) / area.clamp(min=torch.finfo(mask.dtype).tiny)
    mean_coverage = (coverage * valid).sum() / valid.sum().clamp(min=1)
    return F.relu(min_ratio - mean_coverage) * valid.any()


def object_coverage_loss(
    object_alpha: Float[Tensor, "B N H W"], object_boxes: Float[Tensor, "B N H W"], min_ratio: float
) -> Float[Tensor, ""]:
    """Hinge on each object's own coverage of its own box: mean over objects of relu(min_ratio - coverage_bn).

    coverage_bn = sum(alpha_bn * box_bn) / sum(box_bn), with alpha_bn object n's accumulated alpha on its
    own and box_bn its projected box (0 for absent objects and objects out of view, which are left out;
    with none left the loss is 0). Not in GIRAFFE HD, whose coverage hinge acts on the whole mask and the
    batch mean: with several objects, that lets a slot draw nothing while the others cover for it, and a
    scene then shows fewer objects than its slots. Each object is held to its own box here.
    """
    area = object_boxes.sum(dim=(2, 3))
    valid = area > 0
    coverage = (object_alpha * object_boxes).sum(dim=(2, 3)) / area.clamp(min=torch.finfo(object_alpha.dtype).tiny)
    return (F.relu(min_ratio - coverage) * valid).sum() / valid.sum().clamp(min=1)


def mask_excess_coverage_loss(mask: Float[Tensor, "B 1 H W"], max_ratio: float) -> Float[Tensor, ""]:
    """Hinge on foreground coverage above a ceiling: relu(mean_b coverage_b - max_ratio), coverage_b the
    fraction of image b the mask covers.

    Not in GIRAFFE HD. Where the backdrop is as easy to draw as the object (the synthetic car set: one
    plain backdrop behind every car), nothing else stops the foreground from painting the whole frame
    and leaving the background renderer unused; a ceiling a little above the data's own coverage (33% of
    the image for the car set at its camera) makes the foreground keep to the object. Acts on the batch
    mean, like :func:`mask_coverage_loss`.
    """
    return F.relu(mask.mean(dim=(1, 2, 3)).mean() - max_ratio)


def mask_binarization_loss(mask: Float[Tensor, "B 1 H W"]) -> Float[Tensor, ""]:
    """Push the mask towards 0 or 1: mean of min(mask, 1 - mask); 0 for a binary mask, 0.5 at mask = 0.5.

    Same as GIRAFFE HD's ``binarization_loss`` (``torch.min(1 - mask, mask).mean()``, weight 4).
    """
    return torch.minimum(mask, 1.0 - mask).mean()


def anchor_loss(
    image: Float[Tensor, "B C H W"], anchor: Float[Tensor, "B C L L"], resolution: int
) -> Float[Tensor, ""]:
    """Squared error between an image and its anchor, both area-averaged to ``resolution``:
    mean (down(image) - down(anchor))^2.

    GRAM-HD ties its super-resolved image and alpha to the low-resolution render of the same scene (MSE
    after downsampling) so that the 3D model's pose and silhouette carry over. Squared rather than
    absolute: its pull grows with the drift and vanishes at none, so the small changes an upsampler
    starts with (sharper edges) are not held back, while a drift of the layout or colours is. At a
    resolution of the caller's choosing: coarser than the anchor holds its layout and lets the image
    differ from it in detail. ``resolution`` must divide both sizes (checked where it is configured).
    """
    return (_area(image, resolution) - _area(anchor, resolution)).square().mean()


def _area(x: Tensor, resolution: int) -> Tensor:
    return x if x.shape[-1] == resolution else F.interpolate(x, size=resolution, mode="area")


def nonfinite_check(values: dict[str, Tensor | float]) -> str | None:
    """The name of the first value with a NaN or infinite entry, or None when all are finite.

    Meant for stopping a run with a message naming the loss that diverged.
    """
    for name, value in values.items():
        if isinstance(value, Tensor):
            if not bool(torch.isfinite(value.detach()).all()):
                return name
        elif not math.isfinite(value):
            return name
    return None
