"""Training the anchored layout: frozen parts, the anchor losses and crop training."""

import functools

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_generator

from giraffehd.networks.discriminator import Discriminator
from giraffehd.scene import ScenePrior
from giraffehd.training.loss_settings import LossSettings
from giraffehd.training.module import GiraffeHDModule

ADAM = functools.partial(torch.optim.Adam, lr=1e-2, betas=(0.0, 0.99))
FROZEN = ("styles", "features", "compositor.renderer")
ANCHORED = LossSettings(anchor_image_weight=5.0, anchor_resolution=8, anchor_mask_weight=5.0, r1_interval=2)


def module(crop_size=None, frozen=FROZEN, losses=ANCHORED, resolution=None) -> GiraffeHDModule:
    generator = tiny_generator(layout="anchored")
    d = Discriminator(resolution or crop_size or 32, channel_base=128, channel_max=16, channel_min=8)
    return GiraffeHDModule(
        generator, d, ScenePrior(z_dim=generator.z_dim), ADAM, ADAM, losses=losses, frozen=frozen, crop_size=crop_size
    )


def real_images(batch: int = 4) -> torch.Tensor:
    return torch.rand(batch, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1


@pytest.mark.parametrize("crop_size", [None, 16])
def test_a_step_trains_the_upsamplers_and_leaves_the_frozen_parts_as_they_were(crop_size):
    m = module(crop_size)
    opt_g, opt_d = m.configure_optimizers()
    trained = {id(p) for group in opt_g.param_groups for p in group["params"]}
    frozen = {name: p.detach().clone() for name, p in m.generator.named_parameters() if name.startswith(FROZEN)}
    assert frozen and not any(id(p) in trained for n, p in m.generator.named_parameters() if n in frozen)
    heads = m.generator.compositor.foreground_upsampler.heads
    assert all(head.conv.weight.abs().max() == 0 for head in heads)
    values = m.train_step(real_images(), opt_g, opt_d, step=0)
    assert {"anchor_image", "anchor_mask", "r1"} <= set(values)
    for name, p in m.generator.named_parameters():
        if name in frozen:
            assert torch.equal(p, frozen[name]), name
            assert not p.requires_grad, name
    assert any(head.conv.weight.abs().max() > 0 for head in heads)  # the residual started to learn


def test_the_anchor_losses_are_zero_for_the_untrained_upsampler_only_where_upscaling_is_exact():
    m = module()
    scene = ScenePrior(z_dim=m.generator.z_dim).sample(2, torch.Generator().manual_seed(0))
    out = m.generator(scene)
    losses = m._anchor_losses(out)
    image_weight, image_loss = losses["anchor_image"]
    assert image_weight == 5.0
    expected = F.interpolate(out.image, size=8, mode="area") - F.interpolate(out.low_image, size=8, mode="area")
    torch.testing.assert_close(image_loss, expected.square().mean())
    # Bicubic upscaling then averaging comes back close to where it started.
    assert image_loss < 0.01
    assert losses["anchor_mask"][1] < 0.01


def test_with_crops_the_discriminator_sees_windows_and_the_anchor_is_the_same_window():
    m = module(crop_size=16)
    scene = ScenePrior(z_dim=m.generator.z_dim).sample(2, torch.Generator().manual_seed(0))
    from giraffehd.model.crops import sample_crops

    crop = sample_crops(2, 32, 16, 2, torch.Generator().manual_seed(1), "cpu")
    out = m.generator(scene, crop=crop)
    assert out.image.shape == (2, 3, 16, 16) and out.low_image.shape == (2, 3, 8, 8)
    # anchor_resolution 8 is the whole image's: a 16 px window of the 32 px image is averaged to 4 px.
    value = m._anchor_losses(out)["anchor_image"][1]
    expected = F.interpolate(out.image, size=4, mode="area") - F.interpolate(out.low_image, size=4, mode="area")
    torch.testing.assert_close(value, expected.square().mean())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frozen": ("features.nothing",)}, "frozen has no generator part 'features.nothing'"),
        ({"crop_size": 64}, "crop_size must be at most the image's 32 px and a multiple of 2"),
        ({"crop_size": 16, "resolution": 32}, r"resolution \(32\) must be what it sees: crop_size \(16\)"),
        ({"losses": LossSettings(anchor_image_weight=1.0, anchor_resolution=32)}, "anchor_resolution .32. must be"),
    ],
)  # fmt: skip
def test_settings_that_cannot_work_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        module(**kwargs)


def test_crops_need_a_compositor_that_renders_them():
    generator = tiny_generator()
    d = Discriminator(16, channel_base=128, channel_max=16, channel_min=8)
    with pytest.raises(ValueError, match="crop_size needs a compositor that renders crops"):
        GiraffeHDModule(generator, d, ScenePrior(z_dim=generator.z_dim), ADAM, ADAM, crop_size=16)


def test_anchor_resolution_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="anchor_resolution must be a power of two"):
        LossSettings(anchor_resolution=24)
