"""GIRAFFE HD's 2D half: style-based renderers for the foreground and the background, a 2D mask.

The foreground renderer upsamples the objects' feature map, reading the (present-object mean) shape
style in layers before ``injection_index`` and the appearance style from there on
(:mod:`giraffehd.model.style_schedule`); the background renderer reads the background appearance style.
An optional refinement branch, styled by the background appearance, adds an RGB residual to the
foreground. The mask starts from the upsampled 3D alpha; with ``mask_residual`` the foreground renderer's
fourth channel adds a residual logit (without it the silhouette comes from the 3D density alone), and
``mask_steepness`` > 1 steepens it about 0.5. Image = fg * mask + bg * (1 - mask).
"""

import torch
from jaxtyping import Bool
from torch import Tensor, nn

from giraffehd.model.composite import Composite, check_steepness, upsampled_alpha
from giraffehd.model.feature_renderer import FeatureMapRenderer, FeatureMaps
from giraffehd.model.style_schedule import layer_styles, present_mean, switch_layers
from giraffehd.model.styles import Styles
from giraffehd.networks.refinement import RefinementNetwork
from giraffehd.networks.synthesis import SynthesisNetwork
from giraffehd.rendering.compositing import composite_images, steepen_mask

# Keeps the alpha's logit finite where the 3D alpha is exactly 0 or 1.
_ALPHA_CLAMP = 1e-4


class ImageCompositor(nn.Module):
    def __init__(
        self,
        foreground_synthesis: SynthesisNetwork,
        background_synthesis: SynthesisNetwork,
        refinement: RefinementNetwork | None = None,
        injection_index: int | None = None,
        mask_residual: bool = True,
        mask_steepness: float = 1.0,
    ) -> None:
        super().__init__()
        fg, bg = foreground_synthesis, background_synthesis
        if (fg.in_resolution, fg.out_resolution) != (bg.in_resolution, bg.out_resolution):
            raise ValueError(
                f"foreground and background synthesis must share resolutions, got {fg.in_resolution}->"
                f"{fg.out_resolution} and {bg.in_resolution}->{bg.out_resolution}"
            )
        if fg.out_channels != 3 + int(mask_residual):
            raise ValueError(
                f"foreground_synthesis.out_channels must be {3 + int(mask_residual)} with "
                f"mask_residual={mask_residual} (RGB{' and a mask residual' if mask_residual else ''}), "
                f"got {fg.out_channels}"
            )
        if bg.out_channels != 3:
            raise ValueError(f"background_synthesis.out_channels must be 3 (RGB), got {bg.out_channels}")
        if injection_index is None:
            injection_index = fg.num_ws // 2
        if not 0 <= injection_index <= fg.num_ws:
            raise ValueError(f"injection_index must be in [0, {fg.num_ws}], got {injection_index}")
        self.foreground_synthesis = fg
        self.background_synthesis = bg
        self.refinement = refinement
        self.injection_index = injection_index
        self.mask_residual = mask_residual
        self.mask_steepness = check_steepness(mask_steepness)
        self.in_resolution, self.out_resolution = fg.in_resolution, fg.out_resolution

    def check_inputs(self, features: FeatureMapRenderer, w_dim: int) -> None:
        pairs = {
            "foreground_synthesis.in_channels": (self.foreground_synthesis.in_channels, features.object_field),
            "background_synthesis.in_channels": (self.background_synthesis.in_channels, features.background_field),
        }
        for key, (channels, field) in pairs.items():
            if channels != field.feature_head.out_features:
                raise ValueError(
                    f"{key} ({channels}) must equal its field's feature_dim ({field.feature_head.out_features})"
                )
        for name, net in (
            ("foreground_synthesis", self.foreground_synthesis),
            ("background_synthesis", self.background_synthesis),
        ):
            if net.w_dim != w_dim:
                raise ValueError(f"{name}.w_dim ({net.w_dim}) must equal the styles' w_dim ({w_dim})")

    def forward(
        self,
        maps: FeatureMaps,
        styles: Styles,
        present: Bool[Tensor, "B N"],
        noise_mode: str = "const",
        style_mixing_prob: float = 0.0,
        rng: torch.Generator | None = None,
    ) -> Composite:
        fg_net, bg_net = self.foreground_synthesis, self.background_synthesis
        batch = present.shape[0]
        switch = switch_layers(batch, fg_net.num_ws, self.injection_index, style_mixing_prob, rng, present.device)
        fg_ws = layer_styles(
            present_mean(styles.object_shape, present), present_mean(styles.object_appearance, present), switch,
            fg_net.num_ws,
        )  # fmt: skip
        fg = fg_net(maps.foreground, fg_ws, noise_mode, rng)
        fg_out = fg.image
        fg_rgb = fg_out[:, :3]
        bg_ws = styles.background_appearance[:, None].expand(-1, bg_net.num_ws, -1)
        bg = bg_net(maps.background, bg_ws, noise_mode, rng)
        bg_rgb = bg.image
        if self.refinement is not None:
            fg_rgb = fg_rgb + self.refinement(fg_rgb, styles.background_appearance)
        alpha = upsampled_alpha(maps.alpha, self.out_resolution)
        if self.mask_residual:
            mask = torch.sigmoid(torch.logit(alpha.clamp(_ALPHA_CLAMP, 1 - _ALPHA_CLAMP)) + fg_out[:, 3:])
        else:
            mask = alpha
        steep = steepen_mask(mask, self.mask_steepness)
        low_mask = steepen_mask(maps.alpha, self.mask_steepness)  # the 3D alpha at the feature resolution
        return Composite(
            image=composite_images(fg_rgb, bg_rgb, steep), foreground=fg_rgb, background=bg_rgb, mask=steep,
            soft_mask=mask,
            low_image=composite_images(fg.first_rgb[:, :3], bg.first_rgb, low_mask),
        )  # fmt: skip
