import math

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_close_in_norm

from giraffehd.networks.discriminator import (
    Discriminator,
    DiscriminatorBlock,
    EqualConv2d,
    downsample2x,
    largest_divisor_at_most,
    minibatch_stddev,
)
from giraffehd.networks.layers import scaled_lrelu

SMALL = dict(channel_base=256, channel_max=32, channel_min=8)


@pytest.mark.parametrize("resolution", [16, 32, 64, 128])
def test_one_finite_logit_per_image(resolution):
    d = Discriminator(resolution, **SMALL)
    logits = d(torch.randn(3, 3, resolution, resolution))
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()
    assert len(d.blocks) == int(math.log2(resolution)) - 2  # R -> 4


def test_channels_follow_base_over_resolution_clamped():
    d = Discriminator(64, channel_base=2048, channel_max=128, channel_min=16)
    assert d.from_rgb.weight.shape[:2] == (32, 3)  # 2048 // 64
    # blocks 64->32, 32->16, 16->8, 8->4: channels 32->64, 64->128, 128->128 (256 clamped), 128->128
    assert [tuple(b.conv1.weight.shape[:2]) for b in d.blocks] == [(64, 32), (128, 64), (128, 128), (128, 128)]
    assert d.final_linear.weight.shape == (128, 128 * 16)
    assert Discriminator(16, channel_base=64, channel_max=128, channel_min=16).from_rgb.weight.shape[0] == 16


@pytest.mark.parametrize("resolution", [8, 24, 100, 2048, 0])
def test_invalid_resolution_is_named(resolution):
    with pytest.raises(ValueError, match=f"resolution .*got {resolution}$"):
        Discriminator(resolution)


def test_wrong_image_shape_is_rejected():
    d = Discriminator(32, **SMALL)
    with pytest.raises(ValueError, match="images"):
        d(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="images"):
        d(torch.randn(2, 1, 32, 32))


def test_every_parameter_gets_a_finite_nonzero_gradient():
    d = Discriminator(16, in_channels=4, **SMALL)
    (d(torch.randn(4, 4, 16, 16)) * torch.randn(4)).sum().backward()
    for name, parameter in d.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_minibatch_std_couples_the_samples_of_a_group():
    x = torch.randn(4, 3, 16, 16)
    changed = x.clone()
    changed[1] = torch.randn(3, 16, 16)
    coupled = Discriminator(16, mbstd_group_size=4, **SMALL)
    assert (coupled(x)[0] - coupled(changed)[0]).abs() > 1e-4
    independent = Discriminator(16, mbstd_group_size=1, **SMALL)
    torch.testing.assert_close(independent(x)[0], independent(changed)[0])
    assert not torch.allclose(independent(x)[1], independent(changed)[1])


def test_minibatch_std_closed_form_and_strided_groups():
    # Two samples, constant 0 and constant 2: std over the group is 1 everywhere.
    x = torch.cat([torch.zeros(1, 2, 3, 3), torch.full((1, 2, 3, 3), 2.0)])
    out = minibatch_stddev(x, group_size=4)
    assert out.shape == (2, 3, 3, 3)
    torch.testing.assert_close(out[:, :2], x)
    torch.testing.assert_close(out[:, 2], torch.ones(2, 3, 3))
    # Batch 6 with group size 4 uses groups of 3 (largest divisor), strided: {0, 2, 4} and {1, 3, 5}.
    assert largest_divisor_at_most(6, 4) == 3 and largest_divisor_at_most(7, 4) == 1
    y = torch.randn(6, 2, 4, 4)
    changed = y.clone()
    changed[1] += 5.0 * torch.randn(2, 4, 4)
    before, after = minibatch_stddev(y, 4)[:, -1, 0, 0], minibatch_stddev(changed, 4)[:, -1, 0, 0]
    torch.testing.assert_close(before[0::2], after[0::2])
    assert torch.all((before[1::2] - after[1::2]).abs() > 1e-3)


def test_odd_batch_runs():
    assert Discriminator(16, **SMALL)(torch.randn(5, 3, 16, 16)).shape == (5,)


def test_equalized_lr_stores_unit_scale_weights_and_zero_biases():
    d = Discriminator(64, channel_base=4096, channel_max=128)
    for name, parameter in d.named_parameters():
        if name.endswith("weight") and parameter.numel() >= 1000:
            assert parameter.mean().abs() < 0.1, name
            assert parameter.std().item() == pytest.approx(1.0, abs=0.1), name
        elif name.endswith("bias"):
            assert torch.all(parameter == 0), name


def test_equal_conv_keeps_unit_variance_and_downsamples_by_box_filter():
    conv = EqualConv2d(64, 32, 3)
    with torch.no_grad():
        out = conv(torch.randn(8, 64, 16, 16))[:, :, 1:-1, 1:-1]  # zero padding lowers the border variance
    assert out.var().item() == pytest.approx(1.0, abs=0.1)
    down = EqualConv2d(5, 4, 3, downsample=True)
    x = torch.randn(2, 5, 8, 8)
    expected = F.conv2d(F.avg_pool2d(x, 2), down.weight / math.sqrt(5 * 9), down.bias, padding=1)
    torch.testing.assert_close(down(x), expected)
    assert EqualConv2d(5, 4, 1, bias=False).bias is None


def test_residual_block_sums_main_path_and_skip_scaled_by_inverse_sqrt2():
    block = DiscriminatorBlock(4, 6)
    with torch.no_grad():
        block.conv0.bias.normal_()
        block.conv1.bias.normal_()
    x = torch.randn(2, 4, 8, 8)
    pooled = F.avg_pool2d(x, 2)
    h = scaled_lrelu(F.conv2d(x, block.conv0.weight / 6.0, block.conv0.bias, padding=1))  # fan-in 4 * 9
    main = scaled_lrelu(F.conv2d(F.avg_pool2d(h, 2), block.conv1.weight / 6.0, block.conv1.bias, padding=1))
    skip = F.conv2d(pooled, block.skip.weight / 2.0)  # fan-in 4, no bias
    out = block(x)
    assert out.shape == (2, 6, 4, 4)
    torch.testing.assert_close(out, (main + skip) / math.sqrt(2.0))


def _reference_forward(d: Discriminator, images: torch.Tensor) -> torch.Tensor:
    """The layout of the module docstring written out plainly: avg_pool2d and every gain applied to the
    activations, no folding (what the faster ordering must reproduce)."""

    def conv(layer, x, padding=0):
        return F.conv2d(x, layer.weight * layer.weight_gain, layer.bias, padding=padding)

    x = scaled_lrelu(conv(d.from_rgb, images))
    for block in d.blocks:
        h = scaled_lrelu(conv(block.conv0, x, padding=1))
        main = scaled_lrelu(conv(block.conv1, F.avg_pool2d(h, 2), padding=1))
        x = (main + conv(block.skip, F.avg_pool2d(x, 2))) / math.sqrt(2.0)
    x = scaled_lrelu(conv(d.final_conv, minibatch_stddev(x, d.mbstd_group_size), padding=1))
    return d.out(d.final_linear(x.flatten(1)))[:, 0]


def _gradients(d: Discriminator, forward, images: torch.Tensor, r1: bool) -> dict[str, torch.Tensor]:
    d.zero_grad(set_to_none=True)
    images = images.detach().requires_grad_(True)
    logits = forward(d, images)
    if r1:  # R1: the gradient of a gradient
        (grad,) = torch.autograd.grad(logits.sum(), images, create_graph=True)
        grad.square().sum().backward()
    else:
        logits.square().mean().backward()
        return {"images": images.grad.clone(), **{n: p.grad.clone() for n, p in d.named_parameters()}}
    return {n: p.grad.clone() for n, p in d.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("r1", [False, True])
def test_the_faster_ordering_gives_the_plain_layouts_outputs_and_gradients(r1):
    d = Discriminator(32, channel_base=256, channel_max=32)
    with torch.no_grad():
        for name, parameter in d.named_parameters():
            if name.endswith("bias"):
                parameter.normal_()  # non-zero biases, so that their folded gains are checked
    images = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(d(images), _reference_forward(d, images), rtol=1e-5, atol=1e-5)
    fast = _gradients(d, Discriminator.forward, images, r1)
    plain = _gradients(d, _reference_forward, images, r1)
    assert fast.keys() == plain.keys() and len(fast) > 5
    for name in fast:
        assert_close_in_norm(fast[name], plain[name], rel=1e-2, name=name)  # a wrong gain is off by O(1)


def test_box_downsampling_has_avg_pools_gradient_and_second_gradient():
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    weights = torch.randn(2, 3, 4, 4)
    for down in (downsample2x, lambda t: F.avg_pool2d(t, 2)):
        (grad,) = torch.autograd.grad((down(x) ** 3 * weights).sum(), x, create_graph=True)
        (second,) = torch.autograd.grad(grad.square().sum(), x)
        if down is downsample2x:
            fast = grad.detach(), second
    torch.testing.assert_close(fast[0], grad.detach())
    torch.testing.assert_close(fast[1], second)


def test_the_highpass_input_is_the_image_beside_its_detail():
    from giraffehd.networks.discriminator import highpass

    flat = torch.full((2, 3, 16, 16), 0.3)
    assert highpass(flat).abs().max() < 1e-6  # a flat image has no detail, at the borders too
    ramp = torch.linspace(-1, 1, 16).expand(1, 3, 16, 16)
    assert highpass(ramp)[..., 1:-1, 1:-1].abs().max() < 1e-5  # nor a linear ramp away from the borders
    step = torch.zeros(1, 1, 16, 16)
    step[..., 8:] = 1.0
    detail = highpass(step)
    assert detail[0, 0, 0, 7] < 0 < detail[0, 0, 0, 8] and detail[0, 0, 0, :6].abs().max() == 0
    d = Discriminator(16, channel_base=64, channel_max=8, channel_min=4, highpass_input=True)
    assert d.from_rgb.weight.shape[1] == 6
    images = torch.rand(4, 3, 16, 16, requires_grad=True)
    d(images).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
