"""GIRAFFE's layout: the feature compositor (one plain neural renderer after feature-space compositing)."""

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_generator

from giraffehd.model.feature_compositor import FeatureCompositor
from giraffehd.networks.neural_renderer import NeuralRenderer
from giraffehd.scene import ScenePrior


def _generator(*overrides):
    return tiny_generator(*overrides, layout="features")


def _scene(batch=3, seed=0, **prior):
    return ScenePrior(z_dim=8, **prior).sample(batch, torch.Generator().manual_seed(seed))


# Channels after each doubling at channel_base 256, clamped to [4, 16]: 256 / r at resolution r.
@pytest.mark.parametrize(
    ("in_res", "out_res", "widths"), [(8, 32, [16, 8]), (16, 16, []), (16, 64, [8, 4]), (4, 16, [16, 16])]
)
def test_neural_renderer_shapes_and_widths(in_res, out_res, widths):
    renderer = NeuralRenderer(5, in_res, out_res, 3, channel_base=256, channel_max=16, channel_min=4)
    assert renderer(torch.randn(2, 5, in_res, in_res)).shape == (2, 3, out_res, out_res)
    assert [conv.out_channels for conv in renderer.convs] == widths
    with pytest.raises(ValueError, match=r"features must have shape \(B, 5"):
        renderer(torch.randn(2, 4, in_res, in_res))


def test_neural_renderer_needs_a_power_of_two_ratio():
    for out_res in (24, 8):
        with pytest.raises(ValueError, match="times a power of two"):
            NeuralRenderer(4, 16, out_res)


def test_feature_compositing_output_and_mask():
    g = _generator()
    out = g(_scene())
    assert out.image.shape == out.foreground.shape == out.background.shape == (3, 3, 32, 32)
    assert isinstance(g.compositor, FeatureCompositor) and isinstance(g.compositor.renderer, NeuralRenderer)
    expected = F.interpolate(out.low_res_alpha, size=32, mode="bilinear", align_corners=False)
    torch.testing.assert_close(out.mask, expected)
    torch.testing.assert_close(out.image, out.foreground * out.mask + out.background * (1 - out.mask))
    assert out.low_res_alpha.max() > 0.01 and out.low_res_alpha.min() < 1e-6
    torch.testing.assert_close(out.soft_mask, out.mask)


def test_steepened_mask_leaves_the_soft_band_to_the_background():
    """With mask_steepness 2 the compositing mask is the steepened upsampled alpha; where that alpha is
    below 0.25 the image is the background render's, bit for bit, and soft_mask keeps the alpha itself."""
    soft, steep = _generator(), _generator("compositor.mask_steepness=2.0")
    scene = _scene()
    a, b = soft(scene), steep(scene)
    torch.testing.assert_close(b.soft_mask, a.mask)
    torch.testing.assert_close(b.mask, (2 * (a.mask - 0.5) + 0.5).clamp(0, 1))
    band = ((a.mask > 0) & (a.mask < 0.25)).expand_as(b.image)
    assert band.any()
    assert torch.equal(b.image[band], b.background[band])
    assert not torch.equal(a.image[band], a.background[band])


def test_mask_steepness_below_one_is_refused():
    renderer = NeuralRenderer(4, 8, 32)
    with pytest.raises(ValueError, match="mask_steepness must be at least 1 .* got 0.5"):
        FeatureCompositor(renderer, mask_steepness=0.5)


def test_every_code_reaches_the_image():
    g = _generator()
    scene = _scene(seed=1)
    base = g(scene).image
    other = _scene(seed=2)
    for field in ("object_shape", "object_appearance", "background_shape", "background_appearance"):
        assert not torch.allclose(g(scene.replace(**{field: getattr(other, field)})).image, base), field


def test_object_changes_leave_the_background_and_unreached_pixels_bit_identical():
    """No style reaches the renderer: an object's codes and pose leave the background render as it was,
    and the final image too wherever neither version of the object has alpha; in the foreground render
    they reach a little further (the renderer's reach of two feature pixels), and no further."""
    g = _generator()
    prior = dict(rotation_deg=[0, 0], scale=[[0.06, 0.06]] * 3, translation=[[0.0, 0.0]] * 3, fov_deg=[20, 20])
    scene = _scene(**prior)
    other = _scene(seed=1, **prior)
    moved = scene.replace(
        object_shape=other.object_shape,
        object_appearance=other.object_appearance,
        object_rotation_deg=other.object_rotation_deg + 40,
    )
    a, b = g(scene), g(moved)
    assert torch.equal(a.background, b.background)
    unreached = (torch.maximum(a.mask, b.mask) == 0).expand_as(a.image)
    assert 0.3 < unreached.float().mean() < 0.95
    assert torch.equal(a.image[unreached], b.image[unreached])
    assert not torch.equal(a.image, b.image)
    touched = torch.maximum(a.low_res_alpha, b.low_res_alpha) > 0
    near = F.interpolate(F.max_pool2d(touched.float(), 5, stride=1, padding=2), size=32, mode="nearest") > 0
    far = ~near.expand_as(a.image)
    assert far.float().mean() > 0.3
    assert torch.equal(a.foreground[far], b.foreground[far])


def test_every_parameter_gets_a_gradient():
    g = _generator()
    out = g(_scene(batch=4), stratified=True, rng=torch.Generator().manual_seed(0))
    (out.image * torch.randn_like(out.image)).sum().backward()
    for name, parameter in g.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["features.object_field.condition_on_appearance=false"], "object_field.condition_on_appearance=true"),
        (["features.background_field.condition_on_appearance=false"], "background_field.condition_on_appearance=true"),
        (["features.background_field.feature_dim=4"], r"object_field \(8\), background_field \(4\)"),
        (["compositor.renderer.out_channels=4"], "3 output channels"),
        (["compositor.mask_steepness=0.5"], "mask_steepness must be at least 1"),
    ],
)
def test_feature_compositing_refuses_what_it_cannot_use(overrides, message):
    with pytest.raises(Exception, match=message):
        _generator(*overrides)
