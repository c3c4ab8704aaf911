"""The generator: scene parameters in, image and its parts out, composed of three named parts.

    styles      StyleMapper         codes -> styles (mapping networks, average styles, truncation)
    features    FeatureMapRenderer  the 3D half: rays, in-box samples, fields, volume rendering -> feature maps
    compositor  ImageCompositor     GIRAFFE HD: style-based fg/bg renderers and a 2D mask
                AnchoredCompositor  GIRAFFE HD's upsamplers over a trained GIRAFFE-layout renderer
                FeatureCompositor   GIRAFFE: objects over background in feature space, one plain renderer

Each part validates its own arguments; the generator checks only that the parts fit together and match
the declared resolutions. Hydra builds it from ``conf/model/`` (the compositor is chosen by ``_target_``).
Axis legend: B scenes, N objects, C feature channels; h, w feature map; H, W image.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.model.composite import Compositor
from giraffehd.model.crops import Crop
from giraffehd.model.feature_renderer import FeatureMapRenderer
from giraffehd.model.styles import StyleMapper
from giraffehd.scene import SceneParameters

# The generator's parts below its three children that a user or tool may name (a learning rate of its own,
# a timing row), by their module paths; the one place these paths are written.
PART_PATHS = {
    "styles": "styles",
    "object_field": "features.object_field",
    "background_field": "features.background_field",
    "compositor": "compositor",
}


@dataclass(frozen=True)
class GeneratorOutput:
    """Everything one forward pass produces. Images are nominally in [-1, 1]; masks and alphas in [0, 1]."""

    image: Float[Tensor, "B 3 H W"]
    foreground: Float[Tensor, "B 3 H W"]
    background: Float[Tensor, "B 3 H W"]
    mask: Float[Tensor, "B 1 H W"]  # the compositing mask
    soft_mask: Float[Tensor, "B 1 H W"]  # the mask before steepening (equal to mask at mask_steepness 1)
    low_res_features: Float[Tensor, "B C h w"]  # volume-rendered foreground features
    low_res_alpha: Float[Tensor, "B 1 h w"]  # accumulated alpha of all objects
    depth: Float[Tensor, "B 1 h w"]  # expected depth of the foreground (0 where empty)
    object_alpha: Float[Tensor, "B N h w"]  # accumulated alpha of each object on its own
    low_image: Float[Tensor, "B 3 l l"] | None = None  # the compositor's low-resolution image (Composite.low_image)
    low_mask: Float[Tensor, "B 1 l l"] | None = None  # the alpha low_image was composited with (Composite.low_mask)


class Generator(nn.Module):
    def __init__(
        self,
        styles: StyleMapper,
        features: FeatureMapRenderer,
        compositor: Compositor,
        image_resolution: int,
        feature_resolution: int,
    ) -> None:
        super().__init__()
        if features.resolution != feature_resolution or compositor.in_resolution != feature_resolution:
            raise ValueError(
                f"feature_resolution is {feature_resolution}, but the feature renderer renders "
                f"{features.resolution} px and the compositor reads {compositor.in_resolution} px"
            )
        if compositor.out_resolution != image_resolution:
            raise ValueError(
                f"image_resolution is {image_resolution}, the compositor renders {compositor.out_resolution}"
            )
        compositor.check_inputs(features, styles.w_dim)
        self.styles = styles
        self.features = features
        self.compositor = compositor
        self.image_resolution = image_resolution
        self.feature_resolution = feature_resolution

    @property
    def z_dim(self) -> int:
        return self.styles.z_dim

    @property
    def mask_steepness(self) -> float:
        return self.compositor.mask_steepness

    @mask_steepness.setter
    def mask_steepness(self, value: float) -> None:
        """Set between steps by a training schedule; renders read it."""
        self.compositor.mask_steepness = float(value)

    @property
    def w_avg_ready(self) -> bool:
        return bool(self.styles.w_avg_ready)

    def update_w_avg(self, num_samples: int, rng: torch.Generator) -> None:
        """Estimate the average styles used by truncation (call after training or loading)."""
        self.styles.update_w_avg(num_samples, rng)

    def forward(
        self,
        scene: SceneParameters,
        truncation_psi: float = 1.0,
        noise_mode: str = "const",
        stratified: bool = False,
        style_mixing_prob: float = 0.0,
        rng: torch.Generator | None = None,
        crop: Crop | None = None,
    ) -> GeneratorOutput:
        """Render B scenes.

        Rendering defaults are deterministic (bin-centre samples, constant noise, no style mixing). Under
        ``torch.autocast`` only the 2D half (the compositor) runs in reduced precision.
        Training passes ``noise_mode="random"``, ``stratified=True``, a ``style_mixing_prob`` and the
        ``rng`` that all of that randomness is drawn from. With ``crop`` (crop training; compositors with
        ``supports_crops``) the image, its parts and the low-resolution image are each scene's window.
        """
        # The 3D half always runs in float32, also under autocast (bf16 mixed precision): ray-box
        # intersections and transmittance in bfloat16 move silhouettes, which no later layer can undo.
        with torch.autocast(scene.object_present.device.type, enabled=False):
            styles = self.styles(scene, truncation_psi)
            maps = self.features(scene, styles, stratified, rng)
        if crop is None:
            out = self.compositor(maps, styles, scene.object_present, noise_mode, style_mixing_prob, rng)
        elif getattr(self.compositor, "supports_crops", False):
            out = self.compositor(maps, styles, scene.object_present, noise_mode, style_mixing_prob, rng, crop=crop)
        else:
            raise ValueError(f"{type(self.compositor).__name__} cannot render crops (the anchored compositor can)")
        return GeneratorOutput(
            image=out.image,
            foreground=out.foreground,
            background=out.background,
            mask=out.mask,
            soft_mask=out.soft_mask,
            low_res_features=maps.foreground,
            low_res_alpha=maps.alpha,
            depth=maps.depth,
            object_alpha=maps.object_alpha,
            low_image=out.low_image,
            low_mask=out.low_mask,
        )
