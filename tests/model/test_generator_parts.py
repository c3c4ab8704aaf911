"""The generator checks only that its parts fit together; each mismatch is one line naming the part."""

import pytest
from conftest import tiny_generator

from giraffehd.model.feature_compositor import FeatureCompositor
from giraffehd.model.image_compositor import ImageCompositor


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("features.resolution=16", "feature_resolution is 8, but the feature renderer renders 16"),
        ("compositor.foreground_synthesis.in_channels=4", r"foreground_synthesis.in_channels \(4\) must equal"),
        ("compositor.background_synthesis.w_dim=8", r"background_synthesis.w_dim \(8\) must equal the styles'"),
        ("compositor.background_synthesis.out_resolution=64", "must share resolutions"),
        ("compositor.injection_index=9", r"injection_index must be in \[0, "),
    ],
)
def test_parts_that_do_not_fit_are_refused(override, message):
    with pytest.raises(Exception, match=message):
        tiny_generator(override)


def test_the_compositor_is_chosen_by_config_and_the_steepness_lives_in_it():
    image, features = tiny_generator(), tiny_generator(layout="features")
    assert isinstance(image.compositor, ImageCompositor) and isinstance(features.compositor, FeatureCompositor)
    features.mask_steepness = 3.0
    assert features.compositor.mask_steepness == 3.0


def test_the_style_based_compositor_gives_a_low_resolution_image_and_the_feature_compositor_none():
    import torch

    from giraffehd.scene import ScenePrior

    generator = tiny_generator()
    scene = ScenePrior(z_dim=generator.z_dim).sample(2, torch.Generator().manual_seed(0))
    out = generator(scene)
    assert out.low_image.shape == (2, 3, 8, 8)
    # Where the 3D alpha is 0 the low-resolution image is the background renderer's first image alone.
    maps = generator.features(scene, generator.styles(scene))
    styles = generator.styles(scene)
    bg_net = generator.compositor.background_synthesis
    bg_first = bg_net(maps.background, styles.background_appearance[:, None].expand(-1, bg_net.num_ws, -1))
    empty = (maps.alpha == 0).expand(-1, 3, -1, -1)
    assert empty.any() and torch.equal(out.low_image[empty], bg_first.first_rgb[empty])
    assert tiny_generator(layout="features")(scene).low_image is None
