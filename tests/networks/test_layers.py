import math

import pytest
import torch
import torch.nn.functional as F

from giraffehd.networks.layers import EqualLinear, ModulatedConv2d, NoiseInjection, ToRGB


def grouped_reference(conv: ModulatedConv2d, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """StyleGAN2's fused form: per-sample modulated (and demodulated) weights in one grouped convolution."""
    styles = conv.affine(w)
    weights = (conv.weight * conv.weight_gain)[None] * styles[:, None, :, None, None]
    if conv.demodulate:
        weights = weights * torch.rsqrt(weights.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    if conv.upsample:
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    batch, in_channels, height, width = x.shape
    _, out_channels, _, k, _ = weights.shape
    y = F.conv2d(
        x.reshape(1, batch * in_channels, height, width),
        weights.reshape(batch * out_channels, in_channels, k, k),
        padding=k // 2,
        groups=batch,
    )
    return y.reshape(batch, out_channels, height, width)


@pytest.mark.parametrize("kernel_size", [1, 3])
@pytest.mark.parametrize("upsample", [False, True])
@pytest.mark.parametrize("demodulate", [False, True])
def test_modulated_conv_matches_grouped_per_sample_weights(kernel_size, upsample, demodulate):
    conv = ModulatedConv2d(6, 5, kernel_size, w_dim=7, demodulate=demodulate, upsample=upsample).double()
    x, w = torch.randn(3, 6, 8, 8, dtype=torch.float64), torch.randn(3, 7, dtype=torch.float64)
    out = conv(x, w)
    assert out.shape == ((3, 5, 16, 16) if upsample else (3, 5, 8, 8))
    torch.testing.assert_close(out, grouped_reference(conv, x, w))


@pytest.mark.parametrize("demodulate", [False, True])
def test_demodulation_removes_the_style_scale(demodulate):
    conv = ModulatedConv2d(8, 4, 3, w_dim=5, demodulate=demodulate)
    x, w = torch.randn(2, 8, 6, 6), torch.randn(2, 5)
    before = conv(x, w)
    with torch.no_grad():  # style = affine(w) becomes 3 * style
        conv.affine.weight.mul_(3.0)
        conv.affine.bias.mul_(3.0)
    after = conv(x, w)
    torch.testing.assert_close(after, before if demodulate else 3.0 * before, rtol=1e-4, atol=1e-5)


def test_demodulated_output_has_unit_variance_for_unit_variance_input():
    conv = ModulatedConv2d(64, 32, 3, w_dim=16)
    with torch.no_grad():
        out = conv(torch.randn(8, 64, 16, 16), torch.randn(8, 16))
    interior = out[:, :, 1:-1, 1:-1]  # zero padding lowers the variance at the border
    assert interior.var().item() == pytest.approx(1.0, abs=0.1)


def test_equal_linear_effective_weights_do_not_depend_on_lr_multiplier():
    x = torch.randn(5, 32)
    torch.manual_seed(1)
    slow = EqualLinear(32, 16, lr_multiplier=0.01)
    torch.manual_seed(1)
    fast = EqualLinear(32, 16)
    torch.testing.assert_close(slow(x), fast(x))
    slow(x).sum().backward()
    fast(x).sum().backward()
    # the stored weight's gradient (hence its effective learning rate) is scaled by lr_multiplier
    torch.testing.assert_close(slow.weight.grad, 0.01 * fast.weight.grad)
    assert fast(torch.randn(4096, 32)).var().item() == pytest.approx(1.0, abs=0.15)


def test_equal_linear_bias_init_and_lrelu():
    layer = EqualLinear(4, 3, bias_init=1.0, lr_multiplier=0.01, activation="lrelu")
    torch.testing.assert_close(layer(torch.zeros(2, 4)), torch.full((2, 3), math.sqrt(2.0)))
    x = torch.randn(6, 4)
    linear = F.linear(x, layer.weight * layer.weight_gain, layer.bias * layer.bias_gain)
    torch.testing.assert_close(layer(x), F.leaky_relu(linear, 0.2) * math.sqrt(2.0))
    with pytest.raises(ValueError, match="tanh"):
        EqualLinear(4, 3, activation="tanh")


def test_to_rgb_is_an_undemodulated_1x1_modulated_conv_plus_bias():
    to_rgb = ToRGB(6, 3, w_dim=5).double()
    with torch.no_grad():
        to_rgb.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    x, w = torch.randn(2, 6, 4, 4, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    expected = grouped_reference(to_rgb.conv, x, w) + to_rgb.bias[:, None, None]
    torch.testing.assert_close(to_rgb(x, w), expected)


def noise_layer(seed: int = 3, strength: float = 0.1) -> NoiseInjection:
    layer = NoiseInjection(8, seed=seed)
    with torch.no_grad():
        layer.strength.fill_(strength)
    return layer


def test_noise_strength_starts_at_zero():
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(NoiseInjection(8)(x), x)


def test_const_noise_is_identical_across_calls_and_constructions():
    x = torch.randn(2, 4, 8, 8)
    layer = noise_layer()
    torch.manual_seed(123)  # the global seed must not matter
    again = noise_layer()
    assert torch.equal(layer(x, "const"), layer(x, "const"))
    assert torch.equal(layer(x, "const"), again(x, "const"))
    assert not torch.equal(layer(x, "const"), x)
    assert not torch.equal(layer.noise_const, noise_layer(seed=4).noise_const)
    # the same noise image, shared by all channels and samples
    added = layer(x, "const") - x
    torch.testing.assert_close(added, added[:1, :1].expand_as(added))


def test_random_noise_is_seeded_by_the_generator():
    x = torch.randn(2, 4, 8, 8)
    layer = noise_layer()

    def run(seed):
        return layer(x, "random", torch.Generator().manual_seed(seed))

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))
    added = run(0) - x
    assert not torch.allclose(added[0], added[1])  # a fresh noise image per sample
    torch.testing.assert_close(added, added[:, :1].expand_as(added))  # shared by the channels


def test_no_noise_adds_nothing_and_bad_modes_are_rejected():
    x = torch.randn(2, 4, 8, 8)
    layer = noise_layer(strength=5.0)
    assert torch.equal(layer(x, "none"), x)
    with pytest.raises(ValueError, match="Generator"):
        layer(x, "random")
    with pytest.raises(ValueError, match="'fixed'"):
        layer(x, "fixed")
