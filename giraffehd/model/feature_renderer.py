"""The 3D half of the generator: from a scene and its styles to low-resolution feature maps.

One ray per pixel of the feature map (camera pose and intrinsics from the scene). Per object, samples
only inside its box (ray points mapped into the box frame), the object field evaluated on the rays that
hit the box, the objects merged per sample (GIRAFFE's operator) and volume-rendered to foreground
features, alpha and depth. The background field is rendered in its own pass between
``background_depth_range`` (scene units from the camera), ending in an opaque far wall.

Axis legend: B scenes, N objects, R rays (h * w), S samples, C feature channels.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.model.hit_rays import gather_rays, pack_hit_rays, scatter_rays
from giraffehd.model.styles import Styles
from giraffehd.networks.fields import FeatureField
from giraffehd.rendering.camera import generate_rays, intrinsics_from_fov
from giraffehd.rendering.compositing import merge_entity_samples
from giraffehd.rendering.ray_sampling import BoxSamples, sample_depths, sample_in_boxes
from giraffehd.rendering.rays import Rays
from giraffehd.rendering.scene_frames import scene_boxes, scene_pose
from giraffehd.rendering.volume_rendering import render_rays
from giraffehd.scene import SceneParameters

# The background's last interval: long enough that every ray ends opaque.
_FAR_WALL = 1e10


@dataclass(frozen=True)
class FeatureMaps:
    """The volume-rendered maps at the feature resolution (h = w)."""

    foreground: Float[Tensor, "B C h w"]  # objects' features, premultiplied by their alpha
    alpha: Float[Tensor, "B 1 h w"]  # accumulated alpha of all objects
    depth: Float[Tensor, "B 1 h w"]  # expected depth of the objects (0 where empty)
    object_alpha: Float[Tensor, "B N h w"]  # accumulated alpha of each object on its own
    background: Float[Tensor, "B C2 h w"]  # the background's features (every ray opaque)
    # All objects' alpha at alpha_resolution (a finer grid than h; density only), when the renderer has one.
    fine_alpha: Float[Tensor, "B 1 H2 W2"] | None = None


class FeatureMapRenderer(nn.Module):
    """Object fields in their boxes plus a background field, volume-rendered to ``resolution``^2 maps."""

    def __init__(
        self,
        object_field: FeatureField,
        background_field: FeatureField,
        resolution: int = 16,
        num_object_samples: int = 8,
        num_background_samples: int = 4,
        background_depth_range: Sequence[float] = (0.5, 6.0),
        alpha_resolution: int | None = None,
    ) -> None:
        super().__init__()
        if not (resolution >= 4 and resolution & (resolution - 1) == 0):
            raise ValueError(f"resolution must be a power of two of at least 4, got {resolution}")
        if num_object_samples < 1 or num_background_samples < 1:
            raise ValueError(
                f"num_object_samples and num_background_samples must be at least 1, "
                f"got {num_object_samples} and {num_background_samples}"
            )
        if len(background_depth_range) != 2:
            raise ValueError(f"background_depth_range must be [near, far], got {list(background_depth_range)}")
        near, far = (float(v) for v in background_depth_range)
        if not 0 < near < far:
            raise ValueError(f"background_depth_range must satisfy 0 < near < far, got {list(background_depth_range)}")
        self.object_field = object_field
        self.background_field = background_field
        self.resolution = resolution
        self.num_object_samples = num_object_samples
        self.num_background_samples = num_background_samples
        self.background_depth_range = (near, far)
        if alpha_resolution is not None and not (
            alpha_resolution >= resolution and alpha_resolution & (alpha_resolution - 1) == 0
        ):
            raise ValueError(
                f"alpha_resolution must be null or a power of two of at least resolution ({resolution}), "
                f"got {alpha_resolution}"
            )
        # The silhouette at a finer grid than the feature map: only the object field's density is evaluated
        # there, so a compositor's mask can follow the 3D shape instead of the upsampled feature-map alpha.
        self.alpha_resolution = alpha_resolution

    def forward(
        self, scene: SceneParameters, styles: Styles, stratified: bool = False, rng: torch.Generator | None = None
    ) -> FeatureMaps:
        b, res = scene.batch_size, self.resolution
        pose = scene_pose(scene)
        rays = generate_rays(pose, intrinsics_from_fov(scene.camera_fov_deg, res, res), res, res)

        def to_map(x: Tensor) -> Tensor:  # (B, R, C) -> (B, C, h, w)
            return x.reshape(b, res, res, -1).permute(0, 3, 1, 2)

        features, alpha, depth, object_alpha = self._render_objects(scene, styles, rays, stratified, rng)
        return FeatureMaps(
            foreground=to_map(features),
            alpha=to_map(alpha[..., None]),
            depth=to_map(depth[..., None]),
            object_alpha=object_alpha.reshape(b, -1, res, res),
            background=to_map(self._render_background(styles, rays, stratified, rng)),
            fine_alpha=None if self.alpha_resolution is None else self._render_fine_alpha(scene, styles, pose),
        )

    def _render_fine_alpha(self, scene, styles, pose) -> Float[Tensor, "B 1 H2 W2"]:
        """All objects' accumulated alpha, 1 - exp(-sum over objects and samples of density * delta), on
        ``alpha_resolution``^2 rays through bin-centre samples (deterministic, also in training: it is a
        silhouette, and a noisy one would make a noisy mask)."""
        b, res = scene.batch_size, self.alpha_resolution
        rays = generate_rays(pose, intrinsics_from_fov(scene.camera_fov_deg, res, res), res, res)
        samples = sample_in_boxes(rays, scene_boxes(scene), self.num_object_samples, 1.0, False, None)
        density, _ = self._object_field_on_hits(samples, styles, density_only=True)
        density = density * scene.object_present[:, :, None, None].to(density.dtype)
        alpha = -torch.expm1(-(density * samples.deltas).sum(dim=(1, 3)))
        return alpha.reshape(b, 1, res, res)

    def _render_objects(self, scene, styles, rays, stratified, rng) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Foreground features (B, R, C), alpha (B, R), depth (B, R) and each object's alpha (B, N, R)."""
        samples = sample_in_boxes(rays, scene_boxes(scene), self.num_object_samples, 1.0, stratified, rng)
        density, features = self._object_field_on_hits(samples, styles)
        density = density * scene.object_present[:, :, None, None].to(density.dtype)
        object_alpha = -torch.expm1(-(density * samples.deltas).sum(dim=-1))
        if density.shape[1] == 1:
            out = render_rays(density[:, 0], features[:, 0], samples.depths[:, 0], samples.deltas[:, 0])
        else:
            merged = merge_entity_samples(samples.depths, samples.deltas, density, features)
            out = render_rays(merged.density, merged.features, merged.depths, merged.deltas)
        return out.features, out.alpha, out.depth, object_alpha

    def _object_field_on_hits(
        self, samples: BoxSamples, styles: Styles, density_only: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Density (B, N, R, S) and features (B, N, R, S, C; None with ``density_only``) of the object field,
        evaluated only on rays that hit each box; rays that miss get zeros, which equals evaluating them
        (their bins are empty)."""
        b, n, r, s, _ = samples.points.shape
        order = pack_hit_rays(samples.hit)
        points = gather_rays(samples.points, order).reshape(b, n, -1, 3)
        kept = order.shape[-1]
        if density_only:
            density = self.object_field.density(points, styles.object_shape)
            return scatter_rays(density.reshape(b, n, kept, s), order, r), None
        field = self.object_field(points, styles.object_shape, styles.object_appearance)
        density = scatter_rays(field.density.reshape(b, n, kept, s), order, r)
        features = scatter_rays(field.features.reshape(b, n, kept, s, -1), order, r)
        return density, features

    def _render_background(self, styles: Styles, rays: Rays, stratified, rng) -> Float[Tensor, "B R C"]:
        near, far = self.background_depth_range
        b, r, _ = rays.origins.shape
        bounds = {"dtype": rays.origins.dtype, "device": rays.origins.device}
        samples = sample_depths(
            torch.full((b, r), near, **bounds), torch.full((b, r), far, **bounds), self.num_background_samples,
            stratified, rng,
        )  # fmt: skip
        points = rays.at(samples.depths) / far  # inside the unit ball
        field = self.background_field(
            points.reshape(b, 1, -1, 3), styles.background_shape[:, None], styles.background_appearance[:, None]
        )
        deltas = torch.cat([samples.deltas[..., :-1], torch.full_like(samples.deltas[..., -1:], _FAR_WALL)], dim=-1)
        density = field.density.reshape(b, r, -1)
        features = field.features.reshape(b, r, self.num_background_samples, -1)
        return render_rays(density, features, samples.depths, deltas).features
