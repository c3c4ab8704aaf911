"""A style-based x2^k upsampler that starts as a pure upsampler: a learned residual over the resized input.

EG3D's super-resolution in our terms: a base image at ``in_resolution`` is resized to ``out_resolution``
(bicubic for colours, bilinear for logits) and every block adds a residual drawn by modulated convolutions
that read the base's hidden features, the base image itself and a style. Each block's output layer
starts at zero, so before any training the network returns the resized base exactly: training starts
from the score of plain upscaling instead of from noise, and the residual only has to learn what
upscaling misses (edges, texture, content the base got wrong).

Layers (L = num_blocks = log2(out_resolution / in_resolution)):

    in_resolution          input conv (3x3)                            ws[:, 0]
    block j = 1 .. L       conv (3x3, upsample x2) at in_resolution 2^j  ws[:, j]
                           residual head (1x1, zero at start)          ws[:, j]

Residuals of earlier blocks are carried up bilinearly and summed with the last block's. The network is
convolutional: it also takes a window of the base (crop training) and returns that window upscaled,
equal to the same window of the whole image's result away from the window's borders.
Axis legend: B batch, C channels, K number of ws (= num_ws), D w_dim, h w input size, H W output size.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.networks.layers import LRELU_GAIN, LRELU_SLOPE, ModulatedConv2d, ToRGB
from giraffehd.networks.synthesis import synthesis_channels, upsample2x


def resize_base(base: Float[Tensor, "B O h w"], scale: int, bicubic_channels: int) -> Float[Tensor, "B O H W"]:
    """The base ``scale`` times larger: its first ``bicubic_channels`` channels bicubically (colours), the rest
    bilinearly (logits, where bicubic's overshoot would invent silhouette)."""
    size = (base.shape[-2] * scale, base.shape[-1] * scale)
    colour = F.interpolate(base[:, :bicubic_channels], size=size, mode="bicubic", align_corners=False)
    if bicubic_channels == base.shape[1]:
        return colour
    rest = F.interpolate(base[:, bicubic_channels:], size=size, mode="bilinear", align_corners=False)
    return torch.cat([colour, rest], dim=1)


class _StyledConv(nn.Module):
    """Modulated 3x3 conv (optionally upsampling x2), bias, scaled lrelu. No noise: the data this stage is
    trained on is clean, and a residual that starts at zero has no use for it."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, upsample: bool) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, demodulate=True, upsample=upsample)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Float[Tensor, "B I h w"], w: Float[Tensor, "B D"]) -> Float[Tensor, "B O H W"]:
        y = self.conv(x, w, gain=LRELU_GAIN)
        return F.leaky_relu(y + (self.bias * LRELU_GAIN)[:, None, None], LRELU_SLOPE)


@dataclass(frozen=True)
class UpsamplerOutput:
    image: Float[Tensor, "B O H W"]  # resized base + residual
    residual: Float[Tensor, "B O H W"]  # what the network added (zero before training)


class StyledUpsampler(nn.Module):
    """(base image, hidden features, styles) -> base resized to ``out_resolution`` plus a learned residual.

    ``out_channels`` is the base's channel count: the first ``bicubic_channels`` are colours, the rest
    (e.g. a mask logit) are resized bilinearly. The convolutions read the hidden features concatenated with
    the base (``in_channels`` = hidden channels + out_channels).
    """

    def __init__(
        self,
        in_channels: int,
        in_resolution: int,
        out_resolution: int,
        w_dim: int,
        out_channels: int = 3,
        bicubic_channels: int = 3,
        channel_base: int = 2048,
        channel_max: int = 32,
        channel_min: int = 16,
    ) -> None:
        super().__init__()
        num_blocks = max(out_resolution // max(in_resolution, 1), 1).bit_length() - 1
        if in_resolution < 4 or num_blocks < 1 or in_resolution * 2**num_blocks != out_resolution:
            raise ValueError(
                f"out_resolution ({out_resolution}) must be in_resolution ({in_resolution}) times 2, 4, 8, ..."
            )
        if not 0 < bicubic_channels <= out_channels:
            raise ValueError(f"bicubic_channels must be in [1, out_channels={out_channels}], got {bicubic_channels}")
        if in_channels <= out_channels:
            raise ValueError(
                f"in_channels ({in_channels}) must count the hidden features and the base's {out_channels} channels"
            )
        if not 1 <= channel_min <= channel_max:
            raise ValueError(f"need 1 <= channel_min <= channel_max, got {channel_min=}, {channel_max=}")
        self.in_channels, self.in_resolution = in_channels, in_resolution
        self.out_channels, self.out_resolution = out_channels, out_resolution
        self.bicubic_channels = bicubic_channels
        self.w_dim = w_dim
        resolutions = [in_resolution * 2**j for j in range(num_blocks + 1)]
        channels = [synthesis_channels(r, channel_base, channel_min, channel_max) for r in resolutions]
        self.input_layer = _StyledConv(in_channels, channels[0], w_dim, upsample=False)
        self.layers = nn.ModuleList(
            _StyledConv(channels[j], channels[j + 1], w_dim, upsample=True) for j in range(num_blocks)
        )
        self.heads = nn.ModuleList(ToRGB(channels[j + 1], out_channels, w_dim) for j in range(num_blocks))
        for head in self.heads:  # zero residual at the start: the network is a pure upsampler
            nn.init.zeros_(head.conv.weight)
        self.num_ws = 1 + num_blocks
        self.scale = 2**num_blocks

    def forward(
        self,
        base: Float[Tensor, "B O h w"],
        hidden: Float[Tensor, "B C h w"],
        ws: Float[Tensor, "B K D"],
    ) -> UpsamplerOutput:
        """The base (or a window of it: any h, w) ``scale`` times larger, plus the residual."""
        expected = self.in_channels - self.out_channels
        if base.shape[1] != self.out_channels:
            raise ValueError(f"base must have shape (B, {self.out_channels}, h, w), got {tuple(base.shape)}")
        if hidden.shape[1] != expected or hidden.shape[-2:] != base.shape[-2:]:
            raise ValueError(
                f"hidden must have shape (B, {expected}, h, w) with the base's h, w, got {tuple(hidden.shape)}"
            )
        if ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape (B, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        x = self.input_layer(torch.cat([hidden, base], dim=1), ws[:, 0])
        residual = None
        for j, (layer, head) in enumerate(zip(self.layers, self.heads, strict=True), start=1):
            x = layer(x, ws[:, j])
            step = head(x, ws[:, j])
            residual = step if residual is None else upsample2x(residual) + step
        return UpsamplerOutput(image=resize_base(base, self.scale, self.bicubic_channels) + residual, residual=residual)
