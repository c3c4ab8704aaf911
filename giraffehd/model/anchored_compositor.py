"""GIRAFFE HD's 2D half grown from a trained low-resolution model: style-based upsamplers over its renders.

The base is GIRAFFE's plain renderer as a trained low-resolution model has it (the same parameter names,
so ``init_from`` loads it): it renders the objects over the background in feature space (the foreground
image) and the background alone (the background image), at ``renderer.out_resolution`` (e.g. 64 px). Two
style-based upsamplers (:class:`~giraffehd.networks.upsampler.StyledUpsampler`), one styled by the
objects' appearance and one by the background's, take each image with the renderer's hidden features to
the output resolution as a residual over bicubic upscaling; they start as plain upscaling.

The mask never comes from the feature-map alpha: the 3D half renders the objects' alpha on a finer grid
(``features.alpha_resolution``, equal to the base's resolution), the foreground upsampler adds a residual
to its logit, and ``mask_steepness`` steepens the result about 0.5. The 3D silhouette therefore follows
the fields' shape rather than the 16x16 grid, and the upsampler can sharpen it but starts where 3D is.

``low_image`` is the base's image composited with the fine alpha at the base resolution, and
``low_mask`` that alpha: the anchor that the training losses tie the output to (downsampled), so that
a frozen base's pose, silhouette and layout carry over while the upsamplers draw the detail.

Crop training: given a :class:`~giraffehd.model.crops.Crop`, the base still renders whole (it is cheap
at its resolution), but the upsamplers compute only each scene's window, and every output, the anchor
included, is that window. The upsamplers always read a few base pixels of context around what they
draw, the border pixels repeated outside the image, also for the whole image (a window of the full
size): so a window is exactly that window of the whole image, at the borders too, and what training
sees at the image's edges is what rendering does.
Axis legend: B scenes, N objects, C channels; h, w feature map; L the base's resolution; H, W image.
"""

import torch
from jaxtyping import Bool
from torch import Tensor, nn

from giraffehd.model.composite import Composite, check_steepness
from giraffehd.model.crops import Crop, crop_images
from giraffehd.model.feature_compositor import FeatureCompositor, check_plain_renderer_inputs
from giraffehd.model.feature_renderer import FeatureMapRenderer, FeatureMaps
from giraffehd.model.generator import Generator
from giraffehd.model.style_schedule import present_mean
from giraffehd.model.styles import Styles
from giraffehd.networks.neural_renderer import NeuralRenderer
from giraffehd.networks.upsampler import StyledUpsampler
from giraffehd.rendering.compositing import composite_images, steepen_mask

# Keeps the alpha's logit finite where the 3D alpha is exactly 0 or 1.
_ALPHA_CLAMP = 1e-4
# Base pixels of context around a window: enough for the upsamplers' convolutions and bicubic kernel at x4
# (tests/model/test_anchored_compositor.py checks that a window equals the whole image's).
CROP_MARGIN = 4


class AnchoredCompositor(nn.Module):
    def __init__(
        self,
        renderer: NeuralRenderer,
        foreground_upsampler: StyledUpsampler,
        background_upsampler: StyledUpsampler,
        mask_steepness: float = 1.0,
    ) -> None:
        super().__init__()
        fg, bg = foreground_upsampler, background_upsampler
        if renderer.out_channels != 3:
            raise ValueError(f"the renderer must have 3 output channels (RGB), got {renderer.out_channels}")
        for name, net, channels in (("foreground_upsampler", fg, 4), ("background_upsampler", bg, 3)):
            if net.in_resolution != renderer.out_resolution:
                raise ValueError(
                    f"{name}.in_resolution ({net.in_resolution}) must equal the renderer's out_resolution "
                    f"({renderer.out_resolution})"
                )
            if net.out_channels != channels:
                raise ValueError(f"{name}.out_channels must be {channels}, got {net.out_channels}")
            if net.in_channels != renderer.hidden_channels + channels:
                raise ValueError(
                    f"{name}.in_channels must be the renderer's hidden channels plus {channels}: "
                    f"{renderer.hidden_channels + channels}, got {net.in_channels}"
                )
        if fg.out_resolution != bg.out_resolution:
            raise ValueError(
                f"the upsamplers must share out_resolution, got {fg.out_resolution} and {bg.out_resolution}"
            )
        self.renderer = renderer
        self.foreground_upsampler = fg
        self.background_upsampler = bg
        self.mask_steepness = check_steepness(mask_steepness)
        self.in_resolution, self.out_resolution = renderer.in_resolution, fg.out_resolution
        self.low_resolution = renderer.out_resolution
        self.supports_crops = True

    def check_inputs(self, features: FeatureMapRenderer, w_dim: int) -> None:
        check_plain_renderer_inputs(features, self.renderer, "the anchored compositor")
        if features.alpha_resolution != self.low_resolution:
            raise ValueError(
                f"the anchored compositor needs features.alpha_resolution equal to the renderer's out_resolution "
                f"({self.low_resolution}), got {features.alpha_resolution}"
            )
        for name in ("foreground_upsampler", "background_upsampler"):
            if getattr(self, name).w_dim != w_dim:
                raise ValueError(f"{name}.w_dim ({getattr(self, name).w_dim}) must equal the styles' w_dim ({w_dim})")

    def forward(
        self,
        maps: FeatureMaps,
        styles: Styles,
        present: Bool[Tensor, "B N"],
        noise_mode: str = "const",
        style_mixing_prob: float = 0.0,
        rng: torch.Generator | None = None,
        crop: Crop | None = None,
    ) -> Composite:
        """Render and composite (only ``crop``'s windows, when given). The upsamplers read no noise and mix
        no styles, so only ``maps``, ``styles``, ``present`` and ``crop`` matter."""
        if maps.fine_alpha is None:
            raise ValueError("the anchored compositor needs the fine alpha (features.alpha_resolution)")
        scene = self.renderer.render(maps.foreground + (1 - maps.alpha) * maps.background)
        backdrop = self.renderer.render(maps.background)
        alpha = maps.fine_alpha
        logit = torch.logit(alpha.clamp(_ALPHA_CLAMP, 1 - _ALPHA_CLAMP))

        def ws(w: Tensor, net: StyledUpsampler) -> Tensor:
            return w[:, None].expand(-1, net.num_ws, -1)

        fg_net, bg_net = self.foreground_upsampler, self.background_upsampler
        appearance = present_mean(styles.object_appearance, present)
        fg_base, fg_hidden = torch.cat([scene.image, logit], dim=1), scene.hidden
        bg_base, bg_hidden = backdrop.image, backdrop.hidden
        low_image = composite_images(scene.image, backdrop.image, steepen_mask(alpha, self.mask_steepness))
        if crop is None:
            zeros = torch.zeros(present.shape[0], dtype=torch.long, device=present.device)
            window = Crop(top=zeros, left=zeros, size=self.low_resolution)
        else:
            window = crop.scaled(fg_net.scale)
            low_image, alpha = crop_images(low_image, window), crop_images(alpha, window)
        fg_base, fg_hidden, bg_base, bg_hidden = (
            crop_images(x, window, CROP_MARGIN) for x in (fg_base, fg_hidden, bg_base, bg_hidden)
        )
        fg = self._inner(fg_net(fg_base, fg_hidden, ws(appearance, fg_net)).image)
        bg = self._inner(bg_net(bg_base, bg_hidden, ws(styles.background_appearance, bg_net)).image)
        soft = torch.sigmoid(fg[:, 3:])
        mask = steepen_mask(soft, self.mask_steepness)
        return Composite(
            image=composite_images(fg[:, :3], bg, mask), foreground=fg[:, :3], background=bg, mask=mask,
            soft_mask=soft, low_image=low_image, low_mask=alpha,
        )  # fmt: skip

    def _inner(self, x: Tensor) -> Tensor:
        """An upsampled window without its context border."""
        border = CROP_MARGIN * self.foreground_upsampler.scale
        return x[..., border:-border, border:-border]


def base_generator(generator: Generator) -> Generator | None:
    """The low-resolution model an anchored generator was grown from, built around the same modules (no
    copy): its styles, fields and renderer behind GIRAFFE's feature compositor, at the renderer's
    resolution. Its knobs are the anchored model's, so work that needs many renders of the same scene
    (inversion's search) can run there cheaply. None for other layouts."""
    compositor = generator.compositor
    if not isinstance(compositor, AnchoredCompositor):
        return None
    f = generator.features
    features = FeatureMapRenderer(
        f.object_field, f.background_field, f.resolution, f.num_object_samples, f.num_background_samples,
        f.background_depth_range,
    )  # fmt: skip
    return Generator(
        generator.styles,
        features,
        FeatureCompositor(compositor.renderer, compositor.mask_steepness),
        image_resolution=compositor.low_resolution,
        feature_resolution=generator.feature_resolution,
    )
