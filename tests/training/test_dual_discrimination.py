"""Dual discrimination: D sees each image beside its low-resolution version (EG3D)."""

import functools

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_generator

from giraffehd.networks.discriminator import Discriminator
from giraffehd.scene import ScenePrior
from giraffehd.training.dual_discrimination import dual_fake, dual_real
from giraffehd.training.module import GiraffeHDModule

ADAM = functools.partial(torch.optim.Adam, lr=1e-3, betas=(0.0, 0.99))


def module(generator, in_channels: int, dual: bool) -> GiraffeHDModule:
    discriminator = Discriminator(32, in_channels=in_channels, channel_base=128, channel_max=16, channel_min=8)
    return GiraffeHDModule(
        generator, discriminator, ScenePrior(z_dim=generator.z_dim), ADAM, ADAM, dual_discrimination=dual
    )


def test_the_discriminator_sees_each_image_beside_its_low_resolution_version():
    dual = module(tiny_generator(), 6, True)
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    seen = dual._real_input(real)
    assert torch.equal(seen[:, :3], real)
    low = F.interpolate(real, size=8, mode="area")  # the feature resolution of the tiny generator
    assert torch.allclose(seen[:, 3:], F.interpolate(low, size=32, mode="bilinear", align_corners=False))
    scene = ScenePrior(z_dim=dual.generator.z_dim).sample(2, torch.Generator().manual_seed(0))
    out = dual.generator(scene)
    fake = dual._fake_input(out)
    assert fake.shape == (2, 6, 32, 32) and torch.equal(fake[:, :3], out.image)
    upsampled = F.interpolate(out.low_image, size=32, mode="bilinear", align_corners=False)
    assert torch.equal(fake[:, 3:], upsampled)
    # The low half reads the renderers' first ToRGB and nothing after it.
    fake[:, 3:].sum().backward()
    fg = dual.generator.compositor.foreground_synthesis
    assert fg.input_torgb.bias.grad is not None and fg.input_torgb.bias.grad.abs().sum() > 0
    assert all(block.torgb.bias.grad is None or not block.torgb.bias.grad.any() for block in fg.blocks)
    plain = module(tiny_generator(), 3, False)
    assert plain._real_input(real) is real


def test_a_dual_training_step_updates_both_networks():
    dual = module(tiny_generator(), 6, True)
    opt_g, opt_d = dual.configure_optimizers()
    before = [p.detach().clone() for p in dual.discriminator.parameters()]
    values = dual.train_step(torch.rand(2, 3, 32, 32) * 2 - 1, opt_g, opt_d, step=0)
    assert torch.isfinite(values["d_loss"]) and "r1" in values
    assert any(not torch.equal(b, p) for b, p in zip(before, dual.discriminator.parameters(), strict=True))


@pytest.mark.parametrize(
    ("in_channels", "dual", "layout", "message"),
    [
        (3, True, "image", r"^dual_discrimination is True: the discriminator's in_channels must be 6"),
        (6, False, "image", r"^dual_discrimination is False: the discriminator's in_channels must be 3"),
        (6, True, "features", r"^dual_discrimination needs a compositor with a low-resolution image"),
    ],
)
def test_mismatched_settings_are_refused(in_channels, dual, layout, message):
    with pytest.raises(ValueError, match=message):
        module(tiny_generator(layout=layout), in_channels, dual)


def test_a_fake_is_paired_with_its_own_low_image_upsampled():
    image = torch.rand(2, 3, 8, 8)
    low = torch.tensor([0.25, 0.5, 0.75]).view(1, 3, 1, 1).expand(2, 3, 4, 4)  # constant per channel
    paired = dual_fake(image, low)
    assert torch.equal(paired[:, :3], image)
    torch.testing.assert_close(paired[:, 3:], low[:, :, :1, :1].expand(2, 3, 8, 8))


def test_a_real_image_is_paired_with_its_area_average_at_the_low_resolution():
    checker = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2  # 0/1 checkerboard
    real = checker.float().expand(1, 3, 8, 8)
    paired = dual_real(real, low_resolution=4, image_resolution=8)  # 2x2 blocks average to 0.5
    assert torch.equal(paired[:, :3], real)
    torch.testing.assert_close(paired[:, 3:], torch.full((1, 3, 8, 8), 0.5))
    window = dual_real(real[..., :4, :4], low_resolution=4, image_resolution=8)  # a crop keeps the factor
    torch.testing.assert_close(window[:, 3:], torch.full((1, 3, 4, 4), 0.5))
