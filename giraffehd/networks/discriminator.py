"""StyleGAN2's residual discriminator, in plain PyTorch: images in, one realness logit per image out.

Layout at input resolution R (channels(r) = clamp(channel_base // r, channel_min, channel_max)):

    FromRGB: 1x1 conv (in_channels -> channels(R)), lrelu
    one DiscriminatorBlock per resolution r = R, R/2, ..., 8, each halving it:
        main = lrelu(conv3x3_down(lrelu(conv3x3(x))))     channels(r) -> channels(r) -> channels(r/2)
        skip = conv1x1_down(x)                            no bias, no activation
        out  = (main + skip) / sqrt(2)
    epilogue at 4x4: minibatch standard deviation (+1 channel), conv3x3, lrelu, flatten,
        linear (channels(4) * 16 -> channels(4)), lrelu, linear (-> 1)

Every conv and linear has an equalized learning rate (weights stored as N(0, 1), scaled by 1/sqrt(fan_in) at
run time; see :mod:`giraffehd.networks.layers`); lrelu is ``scaled_lrelu`` (slope 0.2, gain sqrt(2)).

Downsampling ("conv3x3_down", "conv1x1_down") is a 2x2 box filter (``F.avg_pool2d(2)``) followed by the
convolution at the lower resolution. StyleGAN2 blurs with a [1, 3, 3, 1] filter and convolves with stride 2;
the box filter is the cheaper anti-aliasing choice (the 3x3 conv then runs on 4x fewer pixels, which is what
makes this discriminator fast on CPU), and both are linear low-pass filters followed by a learned conv.

For speed the same arithmetic is ordered to touch each full-resolution tensor fewer times: since
lrelu(g z) = g lrelu(z) for g > 0, a gain after an activation (sqrt(2), and the block's 1 / sqrt(2)) is
folded into the preceding convolution's (small) weight and bias; and the box filter's gradient is the
incoming gradient spread back by nearest upsampling / 4 (:func:`downsample2x`). Both give what the
layout above gives, to float rounding (tests/networks/test_discriminator.py checks outputs and gradients).

With ``highpass_input`` the image's detail (the image minus its 3x3 box blur, times ``HIGHPASS_GAIN``) is
stacked beside it before FromRGB. A discriminator on raw images took hundreds of steps to tell a sharp
image from the same image upscaled from a quarter of its size (its first layers see mostly the flat,
low-frequency content); given the detail it tells them apart within a hundred steps, so an upsampler
trained against it gets a signal for sharpness from the start.

Axis legend: B batch, C channels, H W height and width (H = W = resolution).
"""

import math

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.networks.layers import LRELU_GAIN, LRELU_SLOPE, EqualLinear, conv2d

_MBSTD_EPS = 1e-8
# Scales the detail channels towards the image's own range (detail is mostly near 0, up to ~1 at edges).
HIGHPASS_GAIN = 4.0


def highpass(images: Float[Tensor, "B C H W"]) -> Float[Tensor, "B C H W"]:
    """The image minus its 3x3 box blur (border pixels repeated): 0 where the image is locally flat."""
    blurred = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return images - blurred


def largest_divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of ``n`` that is at most ``limit`` (at least 1)."""
    return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


def minibatch_stddev(x: Float[Tensor, "B C H W"], group_size: int) -> Float[Tensor, "B C+1 H W"]:
    """Append one channel: the standard deviation of the features across a group of samples.

    Groups hold G = the largest divisor of B that is at most ``group_size`` samples, taken with stride B / G
    (sample b is in group b mod (B / G)), as in StyleGAN2. Per group: the std over its members of every
    feature (channel, pixel), averaged over channels and pixels, broadcast to each member as a constant map.
    With G = 1 the channel is a constant and no sample sees another.
    """
    b, c, h, w = x.shape
    g = largest_divisor_at_most(b, group_size)
    y = x.reshape(g, b // g, c, h, w)
    std = torch.sqrt(y.var(dim=0, unbiased=False) + _MBSTD_EPS)  # (B/G, C, H, W)
    std = std.mean(dim=(1, 2, 3))[:, None, None, None]  # (B/G, 1, 1, 1)
    return torch.cat([x, std.repeat(g, 1, h, w)], dim=1)


class _BoxDownsample(torch.autograd.Function):
    """``F.avg_pool2d(x, 2)`` whose gradient is computed as nearest upsampling of the incoming gradient / 4:
    the same values as avg_pool2d's own backward, which is several times slower on channels-last tensors on
    CPU. The backward is made of differentiable operations, so R1's gradient of a gradient goes through."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return F.interpolate(grad * 0.25, scale_factor=2.0, mode="nearest")


def downsample2x(x: Float[Tensor, "B C H W"]) -> Float[Tensor, "B C H2 W2"]:
    """2x2 box filter with stride 2 (H and W even)."""
    return _BoxDownsample.apply(x)


class EqualConv2d(nn.Module):
    """Convolution with equalized learning rate and same padding; ``downsample`` box-filters by 2 first.

    ``activation="lrelu"`` applies the scaled lrelu (slope 0.2, gain sqrt(2)); ``output_gain`` multiplies
    the result. Both gains are applied to the weight and bias, not to the output (see the module docstring).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        downsample: bool = False,
        activation: str = "linear",
        output_gain: float = 1.0,
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd for same padding, got {kernel_size}")
        if activation not in ("linear", "lrelu"):
            raise ValueError(f'activation must be "linear" or "lrelu", got {activation!r}')
        if not output_gain > 0:
            raise ValueError(f"output_gain must be positive, got {output_gain}")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.downsample = downsample
        self.activation = activation
        self.output_gain = output_gain * (LRELU_GAIN if activation == "lrelu" else 1.0)

    def forward(self, x: Float[Tensor, "B I H W"]) -> Float[Tensor, "B O H2 W2"]:
        if self.downsample:
            x = downsample2x(x)
        bias = self.bias * self.output_gain if self.bias is not None else None
        y = conv2d(x, self.weight * (self.weight_gain * self.output_gain), bias, padding=self.weight.shape[-1] // 2)
        return F.leaky_relu(y, LRELU_SLOPE) if self.activation == "lrelu" else y

    def extra_repr(self) -> str:
        out_channels, in_channels, kernel_size, _ = self.weight.shape
        return (
            f"{in_channels}, {out_channels}, kernel_size={kernel_size}, bias={self.bias is not None}, "
            f"downsample={self.downsample}, activation={self.activation}"
        )


class DiscriminatorBlock(nn.Module):
    """Residual block halving the resolution: conv3x3, lrelu, conv3x3 down, lrelu, plus a 1x1 down skip,
    the sum scaled by 1 / sqrt(2) (folded into the last convolutions)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3, activation="lrelu")
        self.conv1 = EqualConv2d(
            in_channels, out_channels, 3, downsample=True, activation="lrelu", output_gain=1 / math.sqrt(2.0)
        )
        self.skip = EqualConv2d(
            in_channels, out_channels, 1, bias=False, downsample=True, output_gain=1 / math.sqrt(2.0)
        )

    def forward(self, x: Float[Tensor, "B I H W"]) -> Float[Tensor, "B O H2 W2"]:
        return self.conv1(self.conv0(x)) + self.skip(x)


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator; see the module docstring for the layout."""

    def __init__(
        self,
        resolution: int,
        in_channels: int = 3,
        channel_base: int = 8192,
        channel_max: int = 256,
        channel_min: int = 16,
        mbstd_group_size: int = 4,
        highpass_input: bool = False,
    ):
        super().__init__()
        if resolution < 16 or resolution > 1024 or resolution & (resolution - 1):
            raise ValueError(f"resolution must be a power of two in [16, 1024], got {resolution}")
        if in_channels < 1:
            raise ValueError(f"in_channels must be at least 1, got {in_channels}")
        if not 1 <= channel_min <= channel_max:
            raise ValueError(f"channel_min must be in [1, channel_max={channel_max}], got {channel_min}")
        if mbstd_group_size < 1:
            raise ValueError(f"mbstd_group_size must be at least 1, got {mbstd_group_size}")
        self.resolution = resolution
        self.in_channels = in_channels
        self.mbstd_group_size = mbstd_group_size
        self.highpass_input = highpass_input

        def channels(res: int) -> int:
            return min(max(channel_base // res, channel_min), channel_max)

        seen = in_channels * (2 if highpass_input else 1)
        self.from_rgb = EqualConv2d(seen, channels(resolution), 1, activation="lrelu")
        resolutions = [2**k for k in range(int(math.log2(resolution)), 2, -1)]  # R, R/2, ..., 8
        self.blocks = nn.ModuleList([DiscriminatorBlock(channels(r), channels(r // 2)) for r in resolutions])
        c4 = channels(4)
        self.final_conv = EqualConv2d(c4 + 1, c4, 3, activation="lrelu")
        self.final_linear = EqualLinear(c4 * 4 * 4, c4, activation="lrelu")
        self.out = EqualLinear(c4, 1)

    def forward(self, images: Float[Tensor, "B C H W"]) -> Float[Tensor, " B"]:
        if images.shape[1:] != (self.in_channels, self.resolution, self.resolution):
            expected = (self.in_channels, self.resolution, self.resolution)
            raise ValueError(f"images must have shape (B, {', '.join(map(str, expected))}), got {tuple(images.shape)}")
        if self.highpass_input:
            images = torch.cat([images, HIGHPASS_GAIN * highpass(images)], dim=1)
        x = self.from_rgb(images)
        for block in self.blocks:
            x = block(x)
        x = minibatch_stddev(x, self.mbstd_group_size)
        x = self.final_conv(x)
        return self.out(self.final_linear(x.flatten(1)))[:, 0]
