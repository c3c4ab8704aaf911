"""The GIRAFFE HD-style generator: scene parameters in, image and its parts out.

Data flow (../shared/DESIGN.md): codes -> mapping networks -> styles; camera -> one ray per pixel of
the low-resolution feature map; per object, samples only inside its box, the object field, and the
objects merged per ray and volume-rendered to a foreground feature map, alpha and depth; the background
field in its own pass; style-based 2D renderers upsample both; a refinement branch adds an RGB
residual to the foreground; the mask starts from the upsampled 3D alpha (plus, with ``mask_residual``,
a residual logit from the foreground renderer), optionally steepened (``mask_steepness``); final image =
fg * mask + bg * (1 - mask).

With ``composite="features"`` the foreground is rendered GIRAFFE's way instead: the background's
feature map is composited behind the objects' in feature space (premultiplied: objects + (1 - alpha) *
background) and one plain :class:`~giraffehd.networks.neural_renderer.NeuralRenderer` turns it into the
foreground image; the same renderer turns the background's feature map alone into the background image;
the mask is the upsampled 3D alpha, and the two are composited in 2D as above. Appearance enters through
the fields (the object field must be conditioned on it; the background field is), since the renderer
reads no style. The renderer cannot draw the object outside its 3D silhouette, and pixels the objects'
alpha does not reach are the background render's, untouched by the objects (GIRAFFE alone lets its
renderer's reach carry an object's change a few pixels into the background). On the CPU demo this
learns the object's silhouette much faster than two free style-based renderers (docs/benchmarks.md).

Without the mask residual the silhouette comes from the 3D density alone, so that the 2D renderer cannot
cut a silhouette out of a box full of density. On the CPU demo that alone did not make the density take
the car's shape (docs/benchmarks.md); the style-based demo preset (conf/model/demo.yaml) keeps the
residual and an object box shaped like the car.

Styles: the shape mapping network maps object and background shape codes, the appearance mapping
network the appearance codes. Object fields are conditioned on their own shape style. The foreground
2D renderer reads the (present-object mean) shape style in layers before ``injection_index`` and the
appearance style from there on; the background renderer and the refinement read the background
appearance style.

Axis legend: B scenes, N objects, R rays (h * w), S samples, C feature channels, W style dimensions.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.networks.fields import FeatureField
from giraffehd.networks.mapping import MappingNetwork, truncate
from giraffehd.networks.neural_renderer import NeuralRenderer
from giraffehd.networks.refinement import RefinementNetwork
from giraffehd.networks.synthesis import SynthesisNetwork
from giraffehd.rendering.camera import camera_to_world, generate_rays, intrinsics_from_fov
from giraffehd.rendering.compositing import composite_images, merge_entity_samples, steepen_mask
from giraffehd.rendering.ray_sampling import BoxSamples, sample_depths, sample_in_boxes
from giraffehd.rendering.rays import Rays
from giraffehd.rendering.transforms import BoxTransform, rotation_about_up
from giraffehd.rendering.volume_rendering import render_rays
from giraffehd.scene import SceneParameters

_ALPHA_CLAMP = 1e-4


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


@dataclass(frozen=True)
class ForegroundRendering:
    """The objects volume-rendered on the feature-map rays."""

    features: Float[Tensor, "B R C"]
    alpha: Float[Tensor, "B R"]
    depth: Float[Tensor, "B R"]
    object_alpha: Float[Tensor, "B N R"]


@dataclass(frozen=True)
class Styles:
    object_shape: Float[Tensor, "B N W"]
    object_appearance: Float[Tensor, "B N W"]
    background_shape: Float[Tensor, "B W"]
    background_appearance: Float[Tensor, "B W"]


class Generator(nn.Module):
    """Composes ready-built networks; see the module docstring for the data flow."""

    def __init__(
        self,
        mapping_shape: MappingNetwork,
        mapping_appearance: MappingNetwork,
        object_field: FeatureField,
        background_field: FeatureField,
        foreground_synthesis: SynthesisNetwork | NeuralRenderer,
        background_synthesis: SynthesisNetwork | None,
        refinement: RefinementNetwork | None,
        num_object_samples: int = 8,
        num_background_samples: int = 4,
        background_depth_range: tuple[float, float] = (0.5, 6.0),
        injection_index: int | None = None,
        mask_residual: bool = True,
        composite: str = "image",
        mask_steepness: float = 1.0,
    ) -> None:
        super().__init__()
        if not mask_steepness >= 1:
            raise ValueError(f"mask_steepness must be at least 1, got {mask_steepness}")
        if composite == "features":
            _check_feature_compositing(object_field, background_field, foreground_synthesis, background_synthesis)
            if refinement is not None or mask_residual:
                raise ValueError('composite="features" takes no refinement branch and no mask residual')
        elif composite != "image":
            raise ValueError(f'composite must be "image" or "features", got {composite!r}')
        else:
            self._check_image_renderers(foreground_synthesis, background_synthesis, mask_residual)
            num_ws = foreground_synthesis.num_ws
            if injection_index is None:
                injection_index = num_ws // 2
            if not 0 <= injection_index <= num_ws:
                raise ValueError(f"injection_index must be in [0, {num_ws}], got {injection_index}")
        near, far = background_depth_range
        if not 0 < near < far:
            raise ValueError(f"background_depth_range must satisfy 0 < near < far, got {background_depth_range}")
        self.composite = composite
        self.mapping_shape = mapping_shape
        self.mapping_appearance = mapping_appearance
        self.object_field = object_field
        self.background_field = background_field
        self.foreground_synthesis = foreground_synthesis
        self.background_synthesis = background_synthesis
        self.refinement = refinement
        self.num_object_samples = num_object_samples
        self.num_background_samples = num_background_samples
        self.background_depth_range = (float(near), float(far))
        self.injection_index = injection_index
        self.mask_residual = mask_residual
        self.mask_steepness = float(mask_steepness)
        self.feature_resolution = foreground_synthesis.in_resolution
        self.image_resolution = foreground_synthesis.out_resolution
        w_dim = mapping_shape.w_dim
        self.register_buffer("w_avg_shape", torch.zeros(w_dim))
        self.register_buffer("w_avg_appearance", torch.zeros(w_dim))
        self.register_buffer("w_avg_ready", torch.tensor(False))

    @staticmethod
    def _check_image_renderers(foreground_synthesis, background_synthesis, mask_residual: bool) -> None:
        if background_synthesis is None:
            raise ValueError('composite="image" needs a background synthesis network')
        if foreground_synthesis.in_resolution != background_synthesis.in_resolution:
            raise ValueError("foreground and background synthesis must start from the same feature resolution")
        if foreground_synthesis.out_resolution != background_synthesis.out_resolution:
            raise ValueError("foreground and background synthesis must end at the same image resolution")
        if foreground_synthesis.out_channels != 3 + int(mask_residual):
            raise ValueError(
                f"foreground synthesis must have {3 + int(mask_residual)} output channels "
                f"(RGB{' and a mask residual' if mask_residual else ''})"
            )

    @torch.no_grad()
    def update_w_avg(self, num_samples: int, generator: torch.Generator) -> None:
        """Estimate the average styles used by truncation (call after training or loading)."""
        self.w_avg_shape.copy_(self.mapping_shape.mean_w(num_samples, generator))
        self.w_avg_appearance.copy_(self.mapping_appearance.mean_w(num_samples, generator))
        self.w_avg_ready.fill_(True)

    def map_styles(self, scene: SceneParameters, truncation_psi: float = 1.0) -> Styles:
        """Codes to styles, truncated towards the average style when ``truncation_psi`` < 1."""
        if truncation_psi != 1.0 and not bool(self.w_avg_ready):
            raise ValueError("truncation_psi != 1 needs the average style: call update_w_avg() first")

        def styles(z: Tensor, mapping: MappingNetwork, w_avg: Tensor) -> Tensor:
            w = mapping(z.reshape(-1, z.shape[-1])).reshape(*z.shape[:-1], -1)
            return w if truncation_psi == 1.0 else truncate(w, w_avg, truncation_psi)

        def shape(z: Tensor) -> Tensor:
            return styles(z, self.mapping_shape, self.w_avg_shape)

        def appearance(z: Tensor) -> Tensor:
            return styles(z, self.mapping_appearance, self.w_avg_appearance)

        return Styles(
            object_shape=shape(scene.object_shape),
            object_appearance=appearance(scene.object_appearance),
            background_shape=shape(scene.background_shape),
            background_appearance=appearance(scene.background_appearance),
        )

    def forward(
        self,
        scene: SceneParameters,
        truncation_psi: float = 1.0,
        noise_mode: str = "const",
        stratified: bool = False,
        style_mixing_prob: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> GeneratorOutput:
        """Render B scenes.

        Rendering defaults are deterministic (bin-centre samples, constant noise, no style mixing).
        Training passes ``noise_mode="random"``, ``stratified=True``, a ``style_mixing_prob`` and the
        ``generator`` that all of that randomness is drawn from.
        """
        styles = self.map_styles(scene, truncation_psi)
        b, res = scene.batch_size, self.feature_resolution
        rays = self._rays(scene)
        foreground = self._render_objects(scene, styles, rays, stratified, generator)
        background_features = self._render_background(styles, rays, stratified, generator)

        def to_map(x: Tensor) -> Tensor:
            return x.reshape(b, res, res, -1).permute(0, 3, 1, 2)

        fg_features, fg_alpha = to_map(foreground.features), to_map(foreground.alpha[..., None])
        alpha_up = nn.functional.interpolate(fg_alpha, size=self.image_resolution, mode="bilinear", align_corners=False)
        parts = {
            "low_res_features": fg_features,
            "low_res_alpha": fg_alpha,
            "depth": to_map(foreground.depth[..., None]),
            "object_alpha": foreground.object_alpha.reshape(b, -1, res, res),
        }
        if self.composite == "features":
            # Rendered features are premultiplied by alpha: objects in front, the background behind.
            bg_map = to_map(background_features)
            scene_rgb = self.foreground_synthesis(fg_features + (1 - fg_alpha) * bg_map)
            bg_rgb = self.foreground_synthesis(bg_map)
            mask = steepen_mask(alpha_up, self.mask_steepness)
            image = composite_images(scene_rgb, bg_rgb, mask)
            return GeneratorOutput(
                image=image, foreground=scene_rgb, background=bg_rgb, mask=mask, soft_mask=alpha_up, **parts
            )
        fg_ws = self._foreground_ws(scene, styles, style_mixing_prob, generator)
        fg_out = self.foreground_synthesis(fg_features, fg_ws, noise_mode, generator)
        fg_rgb = fg_out[:, :3]
        bg_ws = styles.background_appearance[:, None].expand(-1, self.background_synthesis.num_ws, -1)
        bg_rgb = self.background_synthesis(to_map(background_features), bg_ws, noise_mode, generator)
        if self.refinement is not None:
            fg_rgb = fg_rgb + self.refinement(fg_rgb, styles.background_appearance)
        if self.mask_residual:
            mask = torch.sigmoid(torch.logit(alpha_up.clamp(_ALPHA_CLAMP, 1 - _ALPHA_CLAMP)) + fg_out[:, 3:])
        else:
            mask = alpha_up
        steep = steepen_mask(mask, self.mask_steepness)
        return GeneratorOutput(
            image=composite_images(fg_rgb, bg_rgb, steep),
            foreground=fg_rgb,
            background=bg_rgb,
            mask=steep,
            soft_mask=mask,
            **parts,
        )

    def _rays(self, scene: SceneParameters) -> Rays:
        res = self.feature_resolution
        pose = camera_to_world(scene.camera_azimuth_deg, scene.camera_elevation_deg, scene.camera_radius)
        return generate_rays(pose, intrinsics_from_fov(scene.camera_fov_deg, res, res), res, res)

    def _render_objects(self, scene, styles, rays, stratified, generator) -> ForegroundRendering:
        transform = BoxTransform(
            scale=scene.object_scale,
            rotation=rotation_about_up(scene.object_rotation_deg),
            translation=scene.object_translation,
        )
        samples = sample_in_boxes(rays, transform, self.num_object_samples, 1.0, stratified, generator)
        density, features = self._object_field_on_hits(samples, styles)
        n = density.shape[1]
        present = scene.object_present[:, :, None, None].to(density.dtype)
        density = density * present
        object_alpha = -torch.expm1(-(density * samples.deltas).sum(dim=-1))
        if n == 1:
            rendered = render_rays(density[:, 0], features[:, 0], samples.depths[:, 0], samples.deltas[:, 0])
        else:
            merged = merge_entity_samples(samples.depths, samples.deltas, density, features)
            rendered = render_rays(merged.density, merged.features, merged.depths, merged.deltas)
        return ForegroundRendering(
            features=rendered.features, alpha=rendered.alpha, depth=rendered.depth, object_alpha=object_alpha
        )

    def _object_field_on_hits(self, samples: BoxSamples, styles: Styles) -> tuple[Tensor, Tensor]:
        """The object field on the samples of rays that hit each box; zero density and features elsewhere.

        Rays that miss a box have zero-width bins, so their samples add nothing to the rendering: the
        field is evaluated only on the first K rays of each (scene, object) after moving hit rays to the
        front, K the most hits of any of them (about 3/4 of the rays on the demo's car set). The result
        equals evaluating every ray, since missing rays get weight 0 either way.
        Returns density (B, N, R, S) and features (B, N, R, S, C).
        """
        b, n, r, s, _ = samples.points.shape
        hits = int(samples.hit.sum(dim=-1).max())
        order = torch.argsort((~samples.hit).to(torch.uint8), dim=-1, stable=True)[..., :hits]  # (B, N, K)
        points = torch.gather(samples.points, 2, order[..., None, None].expand(-1, -1, -1, s, 3))
        field = self.object_field(points.reshape(b, n, hits * s, 3), styles.object_shape, styles.object_appearance)
        channels = field.features.shape[-1]
        density = field.density.new_zeros(b, n, r, s)
        features = field.features.new_zeros(b, n, r, s, channels)
        density = density.scatter(2, order[..., None].expand(-1, -1, -1, s), field.density.reshape(b, n, hits, s))
        features = features.scatter(
            2,
            order[..., None, None].expand(-1, -1, -1, s, channels),
            field.features.reshape(b, n, hits, s, channels),
        )
        return density, features

    def _render_background(self, styles, rays, stratified, generator) -> Float[Tensor, "B R C"]:
        near, far = self.background_depth_range
        b, r, _ = rays.origins.shape
        samples = sample_depths(
            torch.full((b, r), near, dtype=rays.origins.dtype, device=rays.origins.device),
            torch.full((b, r), far, dtype=rays.origins.dtype, device=rays.origins.device),
            self.num_background_samples,
            stratified,
            generator,
        )
        points = rays.at(samples.depths) / far  # inside the unit ball
        field = self.background_field(
            points.reshape(b, 1, -1, 3), styles.background_shape[:, None], styles.background_appearance[:, None]
        )
        density = field.density.reshape(b, r, -1)
        # The far end is an opaque wall: every background ray is fully covered.
        deltas = torch.cat([samples.deltas[..., :-1], torch.full_like(samples.deltas[..., -1:], 1e10)], dim=-1)
        return render_rays(
            density, field.features.reshape(b, r, self.num_background_samples, -1), samples.depths, deltas
        ).features

    def _foreground_ws(self, scene, styles, style_mixing_prob, generator) -> Float[Tensor, "B K W"]:
        """Per-layer styles of the foreground renderer: shape before the injection index, appearance after."""
        present = scene.object_present.to(styles.object_shape.dtype)
        count = present.sum(dim=1, keepdim=True)
        weights = torch.where(count > 0, present / count.clamp(min=1), 1.0 / present.shape[1])
        w_shape = torch.einsum("bn,bnw->bw", weights, styles.object_shape)
        w_appearance = torch.einsum("bn,bnw->bw", weights, styles.object_appearance)
        num_ws, b = self.foreground_synthesis.num_ws, scene.batch_size
        cut = torch.full((b,), self.injection_index, device=w_shape.device)
        if style_mixing_prob > 0:
            if generator is None:
                raise ValueError("style mixing needs a torch.Generator (explicit, seedable randomness)")
            mix = torch.rand(b, generator=generator, device=w_shape.device) < style_mixing_prob
            random_cut = torch.randint(1, num_ws, (b,), generator=generator, device=w_shape.device)
            cut = torch.where(mix, random_cut, cut)
        layer = torch.arange(num_ws, device=w_shape.device)
        use_shape = (layer[None, :] < cut[:, None])[..., None]
        return torch.where(use_shape, w_shape[:, None], w_appearance[:, None])


def _check_feature_compositing(object_field, background_field, renderer, background_synthesis) -> None:
    """What ``composite="features"`` needs, each as a one-line error."""
    if not isinstance(renderer, NeuralRenderer) or background_synthesis is not None:
        raise ValueError('composite="features" renders with one NeuralRenderer and no background synthesis')
    if renderer.out_channels != 3:
        raise ValueError(f"the neural renderer must have 3 output channels (RGB), got {renderer.out_channels}")
    if object_field.appearance is None:
        raise ValueError(
            'composite="features" needs object_appearance_conditioning=true: the renderer reads no style, '
            "so the appearance code must reach the object field"
        )
    fg, bg = object_field.feature_head.out_features, background_field.feature_head.out_features
    if fg != bg:
        raise ValueError(f'composite="features" needs background_feature_dim ({bg}) equal to feature_dim ({fg})')
