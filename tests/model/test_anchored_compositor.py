"""The anchored compositor: GIRAFFE HD's upsamplers over a trained GIRAFFE-layout renderer."""

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_generator

from giraffehd.model.anchored_compositor import AnchoredCompositor, base_generator
from giraffehd.rendering.compositing import composite_images, steepen_mask
from giraffehd.scene import ScenePrior


def scene_for(generator, batch: int = 2, seed: int = 0):
    return ScenePrior(z_dim=generator.z_dim).sample(batch, torch.Generator().manual_seed(seed))


def test_before_training_the_image_is_the_renderers_images_upscaled_and_composited_with_the_fine_alpha():
    generator = tiny_generator(layout="anchored")
    assert isinstance(generator.compositor, AnchoredCompositor)
    scene = scene_for(generator)
    out = generator(scene)
    maps = generator.features(scene, generator.styles(scene))
    renderer = generator.compositor.renderer
    fg = renderer(maps.foreground + (1 - maps.alpha) * maps.background)
    bg = renderer(maps.background)

    def up(x):
        return F.interpolate(x, size=32, mode="bicubic", align_corners=False)

    alpha = maps.fine_alpha.clamp(1e-4, 1 - 1e-4)
    soft = torch.sigmoid(F.interpolate(torch.logit(alpha), size=32, mode="bilinear", align_corners=False))
    mask = steepen_mask(soft, generator.mask_steepness)
    torch.testing.assert_close(out.image, composite_images(up(fg), up(bg), mask))
    # The anchor: the renderer's images at its own resolution, composited with the fine alpha.
    assert out.low_image.shape == (2, 3, 16, 16) and out.low_mask.shape == (2, 1, 16, 16)
    torch.testing.assert_close(out.low_image, composite_images(fg, bg, steepen_mask(maps.fine_alpha, 10.0)))
    torch.testing.assert_close(out.low_mask, maps.fine_alpha)


def test_an_absent_object_leaves_the_background_upsampled():
    generator = tiny_generator(layout="anchored")
    scene = scene_for(generator)
    empty = scene.replace(object_present=torch.zeros_like(scene.object_present))
    out = generator(empty)
    assert out.mask.abs().max() == 0
    torch.testing.assert_close(out.image, out.background)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("features.alpha_resolution=32", "alpha_resolution equal to the renderer's out_resolution"),
        ("compositor.foreground_upsampler.in_channels=19", "renderer's hidden channels plus 4"),
        ("compositor.background_upsampler.out_channels=4", "background_upsampler.out_channels must be 3"),
        ("compositor.background_upsampler.in_resolution=8", "background_upsampler.in_resolution"),
        ("features.object_field.condition_on_appearance=false", "condition_on_appearance=true"),
    ],
)
def test_parts_that_do_not_fit_are_refused(override, message):
    with pytest.raises(Exception, match=message):
        tiny_generator(override, layout="anchored")


@pytest.mark.parametrize("num_objects", [1, 2])
def test_the_fine_alpha_at_the_feature_resolution_is_the_feature_maps_alpha(num_objects):
    generator = tiny_generator("features.alpha_resolution=8")
    prior = ScenePrior(z_dim=generator.z_dim, num_objects=num_objects)
    scene = prior.sample(3, torch.Generator().manual_seed(1))
    maps = generator.features(scene, generator.styles(scene))
    assert maps.alpha.amax() > 0.1  # something to compare
    torch.testing.assert_close(maps.fine_alpha, maps.alpha, atol=1e-5, rtol=1e-4)


def test_the_fine_alpha_is_a_finer_view_of_the_same_silhouette():
    generator = tiny_generator("features.alpha_resolution=32")
    scene = scene_for(generator, batch=2)
    maps = generator.features(scene, generator.styles(scene))
    assert maps.fine_alpha.shape == (2, 1, 32, 32)
    coarse = F.interpolate(maps.fine_alpha, size=8, mode="area")
    assert (coarse - maps.alpha).abs().mean() < 0.05
    assert tiny_generator()(scene).low_mask is None  # no fine alpha unless asked for


def test_a_bad_alpha_resolution_is_refused():
    with pytest.raises(Exception, match="alpha_resolution must be null or a power of two"):
        tiny_generator("features.alpha_resolution=12")


def test_a_crop_is_the_same_window_of_the_whole_image():
    from giraffehd.model.crops import Crop

    generator = tiny_generator(layout="anchored")
    with torch.no_grad():
        for head in [
            *generator.compositor.foreground_upsampler.heads,
            *generator.compositor.background_upsampler.heads,
        ]:
            head.conv.weight.normal_()  # a residual that is not zero
    scene = scene_for(generator, batch=2)
    whole = generator(scene)
    crop = Crop(top=torch.tensor([0, 8]), left=torch.tensor([16, 4]), size=16)
    window = generator(scene, crop=crop)
    for name in ("image", "mask", "foreground", "background"):
        full = getattr(whole, name)
        expected = torch.stack([full[0, :, 0:16, 16:32], full[1, :, 8:24, 4:20]])
        torch.testing.assert_close(getattr(window, name), expected, msg=name)
    torch.testing.assert_close(window.low_image[1], whole.low_image[1, :, 4:12, 2:10])
    torch.testing.assert_close(window.low_mask[0], whole.low_mask[0, :, 0:8, 8:16])


def test_crops_are_refused_by_compositors_without_them():
    from giraffehd.model.crops import Crop

    generator = tiny_generator()
    with pytest.raises(ValueError, match="cannot render crops"):
        generator(scene_for(generator), crop=Crop(top=torch.tensor([0, 0]), left=torch.tensor([0, 0]), size=16))


def test_the_base_generator_is_the_features_layout_model_with_the_same_weights_and_shares_them():
    anchored = tiny_generator(layout="anchored", seed=1)
    base = base_generator(anchored)
    sizes = ("image_resolution=16", "compositor.renderer.out_resolution=16", "compositor.mask_steepness=10.0")
    plain = tiny_generator(*sizes, layout="features")
    missing, unexpected = plain.load_state_dict(anchored.state_dict(), strict=False)
    assert not missing and all(k.startswith("compositor.") and "upsampler" in k for k in unexpected)
    scene = scene_for(anchored)
    with torch.no_grad():
        torch.testing.assert_close(base(scene).image, plain(scene).image)
    assert base.image_resolution == 16 and base.features.alpha_resolution is None
    assert base.compositor.renderer is anchored.compositor.renderer and base.styles is anchored.styles
    assert base_generator(plain) is None


def test_the_shipped_hd_model_is_grown_from_the_shipped_64_px_model():
    from pathlib import Path

    from giraffehd.model_io import load_model

    models = Path(__file__).resolve().parents[2] / "models"
    hd, low = load_model(models / "hd_car_256.pt"), load_model(models / "demo_car_64.pt")
    scene = low.prior.sample(3, torch.Generator().manual_seed(4))
    with torch.no_grad():  # its frozen fields, mappings and 64 px renderer are the 64 px model's, bit for bit
        assert torch.equal(base_generator(hd.generator)(scene).image, low.generator(scene).image)
