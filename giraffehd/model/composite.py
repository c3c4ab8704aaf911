"""What a compositor returns, and what every compositor offers the generator.

A compositor is the 2D half: it turns the feature maps of the 3D half into the foreground image, the
background image and a mask, and composites them: image = fg * mask + bg * (1 - mask). Three ship:
:class:`~giraffehd.model.image_compositor.ImageCompositor` (GIRAFFE HD),
:class:`~giraffehd.model.feature_compositor.FeatureCompositor` (GIRAFFE) and
:class:`~giraffehd.model.anchored_compositor.AnchoredCompositor` (GIRAFFE HD's upsamplers over a trained
GIRAFFE-layout renderer). Images are nominally in
[-1, 1]; masks in [0, 1].
"""

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from giraffehd.model.feature_renderer import FeatureMapRenderer, FeatureMaps
from giraffehd.model.styles import Styles


@dataclass(frozen=True)
class Composite:
    image: Float[Tensor, "B 3 H W"]
    foreground: Float[Tensor, "B 3 H W"]
    background: Float[Tensor, "B 3 H W"]
    mask: Float[Tensor, "B 1 H W"]  # the compositing mask
    soft_mask: Float[Tensor, "B 1 H W"]  # the mask before steepening (equal to mask at steepness 1)
    # The image at the feature resolution, where a compositor has one: its renderers' most direct reading of
    # the feature maps, composited with the 3D alpha (what dual discrimination shows the discriminator).
    low_image: Float[Tensor, "B 3 h w"] | None = None
    # The alpha that low_image was composited with, where a compositor draws its mask from a 3D alpha at that
    # resolution (the anchored compositor): what the mask is tied to in training.
    low_mask: Float[Tensor, "B 1 h w"] | None = None


@runtime_checkable
class Compositor(Protocol):
    in_resolution: int
    out_resolution: int
    mask_steepness: float

    def check_inputs(self, features: FeatureMapRenderer, w_dim: int) -> None:
        """Raise a one-line ValueError if this compositor cannot read what ``features`` renders."""

    def __call__(
        self,
        maps: FeatureMaps,
        styles: Styles,
        present: Bool[Tensor, "B N"],
        noise_mode: str = "const",
        style_mixing_prob: float = 0.0,
        rng: torch.Generator | None = None,
    ) -> Composite: ...


def upsampled_alpha(alpha: Float[Tensor, "B 1 h w"], resolution: int) -> Float[Tensor, "B 1 H W"]:
    """The 3D alpha at the image resolution: where every compositor's mask starts."""
    return torch.nn.functional.interpolate(alpha, size=resolution, mode="bilinear", align_corners=False)


def check_steepness(mask_steepness: float) -> float:
    if not mask_steepness >= 1:
        raise ValueError(f"mask_steepness must be at least 1 (1: the mask as rendered), got {mask_steepness}")
    return float(mask_steepness)
