"""The degradations of the degraded floor, against closed forms: exact whole-pixel shifts, identity at no
change, areas that grow with the square of the size factor, a blurred impulse with the variance of its sigma."""

import pytest
import torch
from evaluation_oracle import oracle_source

from giraffehd.evaluation.degradations import Degradation, degrade, degraded_source, gaussian_blur, warp
from giraffehd.evaluation.sources import Rendered
from giraffehd.scene import ScenePrior


def square(size: int = 32, half: int = 4) -> torch.Tensor:
    image = torch.zeros(1, 1, size, size)
    c = size // 2
    image[..., c - half : c + half, c - half : c + half] = 1
    return image


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("dx, dy", [(3, 0), (0, -2), (-1, 4)])
def test_a_whole_pixel_shift_moves_a_pattern_by_exactly_that(mode, dx, dy):
    pattern = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    moved = warp(pattern, torch.tensor([[float(dx), float(dy)]]), torch.ones(1), mode)
    inner = slice(5, 19)  # away from the repeated border
    expected = torch.roll(pattern, shifts=(dy, dx), dims=(2, 3))
    torch.testing.assert_close(moved[..., inner, inner], expected[..., inner, inner], atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_no_shift_and_a_size_factor_of_one_is_the_identity(mode):
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(warp(images, torch.zeros(2, 2), torch.ones(2), mode), images, atol=1e-5, rtol=0)


def test_a_resize_about_the_centre_scales_the_area_by_its_square():
    image = square()
    for factor in (0.5, 1.5, 2.0):
        resized = warp(image, torch.zeros(1, 2), torch.tensor([factor]))
        assert resized.sum().item() == pytest.approx(64 * factor**2, rel=0.02)
        assert resized[0, 0, 16, 16].item() == 1.0  # the centre stays put


def test_blur_keeps_the_mean_and_spreads_an_impulse_by_sigma():
    assert torch.equal(gaussian_blur(square(), 0.0), square())
    flat = torch.full((1, 3, 20, 20), 0.25)
    torch.testing.assert_close(gaussian_blur(flat, 1.5), flat)
    impulse = torch.zeros(1, 1, 33, 33)
    impulse[..., 16, 16] = 1
    blurred = gaussian_blur(impulse, 1.5)[0, 0]
    assert blurred.sum().item() == pytest.approx(1.0, abs=1e-5)
    x = torch.arange(33.0) - 16
    variance = (blurred.sum(dim=0) * x**2).sum().item()
    assert variance == pytest.approx(1.5**2, rel=0.03)  # the kernel stops at 3 sigma
    with pytest.raises(ValueError, match="too wide"):
        gaussian_blur(torch.zeros(1, 1, 4, 4), 2.0)


def test_degrade_moves_the_mask_with_the_image_but_does_not_blur_it():
    rendered = Rendered(square(32).expand(1, 3, 32, 32) * 2 - 1, square(32))
    degradation = Degradation(blur_sigma_px=1.0, max_shift_px=2, max_rescale=0.1, pixel_resolution=16)
    out = degrade(rendered, degradation, torch.tensor([[1.0, 0.0]]), torch.ones(1))
    # 1 px at 16 px is 2 px of this 32 px image.
    torch.testing.assert_close(out.mask, torch.roll(square(32), 2, dims=3))
    assert ((out.mask == 0) | (out.mask == 1)).all()
    assert ((out.image > -1) & (out.image < 1)).any()  # the image's edges are soft


def test_degradations_are_drawn_per_scene_codes_and_seed():
    prior = ScenePrior(z_dim=4, elevation_deg=[10, 30], translation=[[-0.04, 0.04], [0, 0], [-0.04, 0.04]])
    scenes = prior.sample(4, torch.Generator().manual_seed(0))
    source = degraded_source(oracle_source(), Degradation(max_shift_px=2.0), seed=0)
    together = source(scenes).image
    apart = torch.cat([source(scenes.select(slice(i, i + 1))).image for i in range(4)])
    torch.testing.assert_close(together, apart)
    turned = scenes.replace(object_rotation_deg=scenes.object_rotation_deg + 40)  # a knob turned: same draw
    plain = degraded_source(oracle_source(), Degradation(blur_sigma_px=0, max_shift_px=0, max_rescale=0))
    assert not torch.equal(source(turned).mask, plain(turned).mask)
    torch.testing.assert_close(source(turned).mask, source(scenes).mask)
    other_seed = degraded_source(oracle_source(), Degradation(max_shift_px=2.0), seed=1)
    assert not torch.equal(other_seed(scenes).mask, source(scenes).mask)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"blur_sigma_px": -1.0}, "blur_sigma_px must be at least 0"),
        ({"max_rescale": 1.0}, "max_rescale must be below 1"),
        ({"pixel_resolution": 0}, "pixel_resolution must be positive"),
    ],
)
def test_bad_degradations_are_refused_in_one_line(settings, message):
    with pytest.raises(ValueError, match=message):
        Degradation(**settings)
