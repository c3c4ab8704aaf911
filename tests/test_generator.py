import pytest
import torch
from conftest import tiny_generator

from giraffehd.rendering.camera import camera_to_world, intrinsics_from_fov, project_points
from giraffehd.scene import ScenePrior


def _generator(image_resolution=32, feature_resolution=8, *overrides):
    return tiny_generator(
        f"image_resolution={image_resolution}", f"feature_resolution={feature_resolution}", *overrides
    )


def _prior(num_objects=1, **overrides):
    return ScenePrior(num_objects=num_objects, z_dim=8, **overrides)


@pytest.mark.parametrize(
    ("num_objects", "image_resolution", "feature_resolution"),
    [(1, 32, 8), (3, 32, 8), (1, 64, 16), (3, 64, 16), (1, 128, 16)],
)
def test_output_shapes_and_ranges(num_objects, image_resolution, feature_resolution):
    g = _generator(image_resolution, feature_resolution)
    scene = _prior(num_objects, elevation_deg=[0, 30]).sample(2, torch.Generator().manual_seed(1))
    out = g(scene)
    h, r = image_resolution, feature_resolution
    assert out.image.shape == out.foreground.shape == out.background.shape == (2, 3, h, h)
    assert out.mask.shape == (2, 1, h, h) and out.low_res_features.shape == (2, 8, r, r)
    assert out.low_res_alpha.shape == out.depth.shape == (2, 1, r, r)
    assert out.object_alpha.shape == (2, num_objects, r, r)
    assert torch.isfinite(out.image).all()
    for alpha in (out.mask, out.low_res_alpha, out.object_alpha):
        assert alpha.min() >= 0 and alpha.max() <= 1
    seen = out.low_res_alpha > 0
    assert seen.any() and (~seen).any()
    # Depth of the visible foreground lies within the objects' reach from the camera (radius 2.732).
    assert torch.all(out.depth[seen] > 2.732 - 0.6) and torch.all(out.depth[seen] < 2.732 + 0.6)
    assert torch.all(out.depth[~seen] == 0)


def test_same_seed_same_image_different_seed_different_image():
    g = _generator().eval()
    prior = _prior()
    a = g(prior.sample(2, torch.Generator().manual_seed(5))).image
    b = g(prior.sample(2, torch.Generator().manual_seed(5))).image
    c = g(prior.sample(2, torch.Generator().manual_seed(6))).image
    assert torch.equal(a, b)
    assert (a - c).abs().mean() > 1e-3


def test_training_randomness_is_seeded():
    g = _generator()
    scene = _prior().sample(2, torch.Generator().manual_seed(0))

    def train_render(seed):
        options = dict(noise_mode="random", stratified=True, style_mixing_prob=0.5)
        return g(scene, rng=torch.Generator().manual_seed(seed), **options).image

    assert torch.equal(train_render(1), train_render(1))
    assert not torch.equal(train_render(1), train_render(2))
    with pytest.raises(ValueError, match="rng"):
        g(scene, stratified=True)


def test_every_parameter_gets_a_finite_nonzero_gradient():
    g = _generator(32, 8, "features.num_object_samples=4")
    scene = _prior(2, elevation_deg=[10, 30]).sample(4, torch.Generator().manual_seed(0))
    out = g(scene, noise_mode="random", stratified=True, style_mixing_prob=0.5, rng=torch.Generator().manual_seed(0))
    (out.image * torch.randn_like(out.image)).sum().backward()
    for name, parameter in g.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_foreground_changes_leave_the_background_bit_identical():
    g = _generator()
    prior = _prior(2)
    scene = prior.sample(3, torch.Generator().manual_seed(0))
    other = prior.sample(3, torch.Generator().manual_seed(1))
    changed = scene.replace(
        object_shape=other.object_shape,
        object_appearance=other.object_appearance,
        object_rotation_deg=other.object_rotation_deg,
        object_translation=other.object_translation,
        object_scale=other.object_scale,
    )
    a, b = g(scene), g(changed)
    assert torch.equal(a.background, b.background)
    assert not torch.equal(a.foreground, b.foreground)


def _alpha_centroid(alpha):
    res = alpha.shape[-1]
    rows, cols = torch.meshgrid(torch.arange(res) + 0.5, torch.arange(res) + 0.5, indexing="ij")
    mass = alpha.sum(dim=(-1, -2))
    return torch.stack([(alpha * cols).sum(dim=(-1, -2)) / mass, (alpha * rows).sum(dim=(-1, -2)) / mass], dim=-1)


def test_alpha_centroid_follows_the_projected_object_centre():
    g = _generator(32, 16)
    prior = _prior(azimuth_deg=[-60, 60], elevation_deg=[0, 40], rotation_deg=[0, 0], fov_deg=[20, 20])
    g_rand = torch.Generator().manual_seed(0)
    scene = prior.sample(6, g_rand)
    translation = (torch.rand(6, 1, 3, generator=g_rand) - 0.5) * torch.tensor([0.6, 0.3, 0.6])
    scene = scene.replace(object_translation=translation, object_scale=0.1)
    out = g(scene)
    pose = camera_to_world(scene.camera_azimuth_deg, scene.camera_elevation_deg, scene.camera_radius)
    projected = project_points(translation[:, 0:1], pose, intrinsics_from_fov(scene.camera_fov_deg, 16, 16))
    centroid = _alpha_centroid(out.low_res_alpha[:, 0])
    assert torch.all((centroid - projected.pixels[:, 0]).norm(dim=-1) < 0.75)
    # Moving the object moves its alpha: a different translation gives a different centroid.
    shifted = g(scene.replace(object_translation=translation + torch.tensor([0.2, 0.0, 0.0])))
    assert torch.all((_alpha_centroid(shifted.low_res_alpha[:, 0]) - centroid).norm(dim=-1) > 0.5)


def test_object_out_of_view_or_absent_leaves_no_alpha():
    g = _generator()
    scene = _prior(2).sample(2, torch.Generator().manual_seed(0))
    centred = scene.replace(object_translation=torch.tensor([[0.1, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    away = g(scene.replace(object_translation=torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])))
    assert away.object_alpha[:, 0].max() < 1e-3 and away.object_alpha[:, 1].max() > 0.01
    absent = g(centred.replace(object_present=torch.tensor([False, True])))
    assert absent.object_alpha[:, 0].max() == 0
    torch.testing.assert_close(absent.low_res_alpha, away.low_res_alpha)
    torch.testing.assert_close(absent.depth, away.depth)
    assert not torch.allclose(g(centred).low_res_alpha, absent.low_res_alpha)


def test_truncation_needs_the_average_style_and_psi_zero_collapses_codes():
    g = _generator()
    prior = _prior()
    scene = prior.sample(2, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="update_w_avg"):
        g(scene, truncation_psi=0.5)
    g.update_w_avg(256, torch.Generator().manual_seed(0))
    same_pose = scene.replace(
        camera_elevation_deg=scene.camera_elevation_deg[0],
        object_rotation_deg=scene.object_rotation_deg[0],
        object_translation=scene.object_translation[0],
        object_scale=scene.object_scale[0],
    )
    out = g(same_pose, truncation_psi=0.0)
    torch.testing.assert_close(out.image[0], out.image[1])
    assert not torch.allclose(g(same_pose).image[0], g(same_pose).image[1])


def test_without_mask_residual_the_mask_is_the_upsampled_3d_alpha():
    scene = _prior(1, elevation_deg=[10, 30]).sample(2, torch.Generator().manual_seed(0))
    plain = _generator(32, 8, "compositor.mask_residual=false", "compositor.foreground_synthesis.out_channels=3")
    out = plain(scene)
    assert plain.compositor.foreground_synthesis.out_channels == 3
    upsampled = torch.nn.functional.interpolate(out.low_res_alpha, size=32, mode="bilinear", align_corners=False)
    torch.testing.assert_close(out.mask, upsampled)
    residual = _generator()(scene)
    assert not torch.allclose(
        residual.mask,
        torch.nn.functional.interpolate(residual.low_res_alpha, size=32, mode="bilinear", align_corners=False),
    )


def test_steepened_mask_in_the_image_layout():
    """The mask residual's mask is steepened before compositing; soft_mask is the mask before."""
    scene = _prior(1, elevation_deg=[10, 30]).sample(2, torch.Generator().manual_seed(0))
    soft = _generator()(scene)
    steep = _generator(32, 8, "compositor.mask_steepness=3.0")(scene)
    torch.testing.assert_close(steep.soft_mask, soft.mask)
    torch.testing.assert_close(steep.mask, (3 * (soft.mask - 0.5) + 0.5).clamp(0, 1))
    torch.testing.assert_close(steep.image, steep.foreground * steep.mask + steep.background * (1 - steep.mask))
    assert not torch.allclose(steep.image, soft.image)


@pytest.mark.parametrize("num_objects", [1, 3])
def test_object_field_runs_only_on_rays_that_hit_a_box_with_the_same_result(num_objects):
    g = _generator().eval()
    small = [[0.08, 0.12]] * 3  # boxes that leave some rays of every scene free
    scene = _prior(num_objects, elevation_deg=[0, 30], scale=small).sample(3, torch.Generator().manual_seed(2))
    seen = []
    g.features.object_field.register_forward_hook(lambda module, args, output: seen.append(args[0].shape[2]))
    packed = g(scene, stratified=True, rng=torch.Generator().manual_seed(0))

    def every_ray(samples, styles):  # the field on all R x S samples, as before packing
        b, n, r, s, _ = samples.points.shape
        field = g.features.object_field(
            samples.points.reshape(b, n, r * s, 3), styles.object_shape, styles.object_appearance
        )
        return field.density.reshape(b, n, r, s), field.features.reshape(b, n, r, s, -1)

    g.features._object_field_on_hits = every_ray
    full = g(scene, stratified=True, rng=torch.Generator().manual_seed(0))
    rays, samples = g.feature_resolution**2, g.features.num_object_samples
    assert seen[1] == rays * samples and seen[0] < seen[1]  # fewer points, here where boxes leave rays free
    for name in ("low_res_features", "depth", "object_alpha", "mask", "image"):
        # Equal up to rounding: matrix products of another size may sum in another order.
        torch.testing.assert_close(getattr(packed, name), getattr(full, name), msg=name)
