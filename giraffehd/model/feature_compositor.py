"""GIRAFFE's 2D half: the objects composited over the background in feature space, one plain renderer.

The background's feature map goes behind the objects' (premultiplied: objects + (1 - alpha) *
background) and one :class:`~giraffehd.networks.neural_renderer.NeuralRenderer` turns it into the scene
image; the same renderer turns the background's map alone into the background image. The mask is the
upsampled 3D alpha, steepened about 0.5, and the two images are composited in 2D with it, so pixels the
objects' alpha does not reach are the background render's, untouched by the objects. Appearance enters
through the fields (the renderer reads no style), so both fields must be conditioned on it.
"""

import torch
from jaxtyping import Bool
from torch import Tensor, nn

from giraffehd.model.composite import Composite, check_steepness, upsampled_alpha
from giraffehd.model.feature_renderer import FeatureMapRenderer, FeatureMaps
from giraffehd.model.styles import Styles
from giraffehd.networks.neural_renderer import NeuralRenderer
from giraffehd.rendering.compositing import composite_images, steepen_mask


def check_plain_renderer_inputs(features: FeatureMapRenderer, renderer: NeuralRenderer, who: str) -> None:
    """What a compositor built on GIRAFFE's plain renderer needs of the 3D half: both fields conditioned on
    appearance (the renderer reads no style) and of the renderer's feature_dim; one-line errors naming ``who``."""
    fields = {"object_field": features.object_field, "background_field": features.background_field}
    for name, field in fields.items():
        if field.appearance is None:
            raise ValueError(
                f"{who} needs {name}.condition_on_appearance=true: its renderer reads no style, so the appearance "
                "code must reach the fields"
            )
    fg, bg = (field.feature_head.out_features for field in fields.values())
    if not fg == bg == renderer.in_channels:
        raise ValueError(
            f"{who} needs equal feature_dim of object_field ({fg}), background_field ({bg}) "
            f"and renderer.in_channels ({renderer.in_channels})"
        )


class FeatureCompositor(nn.Module):
    def __init__(self, renderer: NeuralRenderer, mask_steepness: float = 1.0) -> None:
        super().__init__()
        if renderer.out_channels != 3:
            raise ValueError(f"the neural renderer must have 3 output channels (RGB), got {renderer.out_channels}")
        self.renderer = renderer
        self.mask_steepness = check_steepness(mask_steepness)
        self.in_resolution, self.out_resolution = renderer.in_resolution, renderer.out_resolution

    def check_inputs(self, features: FeatureMapRenderer, w_dim: int) -> None:
        check_plain_renderer_inputs(features, self.renderer, "the feature compositor")

    def forward(
        self,
        maps: FeatureMaps,
        styles: Styles,
        present: Bool[Tensor, "B N"],
        noise_mode: str = "const",
        style_mixing_prob: float = 0.0,
        rng: torch.Generator | None = None,
    ) -> Composite:
        """Render and composite; the renderer reads no style and no noise, so only ``maps`` matter."""
        scene_rgb = self.renderer(maps.foreground + (1 - maps.alpha) * maps.background)
        background_rgb = self.renderer(maps.background)
        alpha = upsampled_alpha(maps.alpha, self.out_resolution)
        mask = steepen_mask(alpha, self.mask_steepness)
        return Composite(
            image=composite_images(scene_rgb, background_rgb, mask),
            foreground=scene_rgb,
            background=background_rgb,
            mask=mask,
            soft_mask=alpha,
        )
