"""GIRAFFE's neural renderer: a plain (unmodulated) convolutional upsampler from a feature map to an image.

Per resolution doubling: nearest-neighbour x2, a 3x3 convolution and a leaky ReLU; an RGB skip path
adds a 3x3 ToRGB of every resolution to the bilinearly upsampled RGB of the one before (GIRAFFE,
``neural_renderer.py``: the same layout, with its own widths). It reads no style: everything that
varies between images, the appearance included, must come in through the feature map. That is what
feature-space compositing needs (``Generator(composite="features")``): a style-modulated renderer would
let an object's codes repaint the background's pixels too.

Axis legend: B batch, C channels, H W height and width.
"""

from dataclasses import dataclass

import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.networks.layers import conv2d
from giraffehd.networks.synthesis import synthesis_channels, upsample2x


@dataclass(frozen=True)
class RendererOutput:
    image: Float[Tensor, "B O H W"]
    hidden: Float[Tensor, "B C H W"]  # the last feature map, at out_resolution (what an upsampler reads)


class NeuralRenderer(nn.Module):
    """Feature map (B, in_channels, in_resolution^2) to a raw image (B, out_channels, out_resolution^2).

    Channels at resolution r: clamp(channel_base // r, channel_min, channel_max), as the style-based
    renderer's. The output is not squashed (like :class:`~giraffehd.networks.synthesis.SynthesisNetwork`).
    """

    def __init__(
        self,
        in_channels: int,
        in_resolution: int,
        out_resolution: int,
        out_channels: int = 3,
        channel_base: int = 512,
        channel_max: int = 32,
        channel_min: int = 16,
    ):
        super().__init__()
        num_blocks = max(out_resolution // in_resolution, 1).bit_length() - 1
        if in_resolution * 2**num_blocks != out_resolution:
            raise ValueError(
                f"out_resolution ({out_resolution}) must be in_resolution ({in_resolution}) times a power of two"
            )
        self.in_channels, self.in_resolution = in_channels, in_resolution
        self.out_channels, self.out_resolution = out_channels, out_resolution
        resolutions = [in_resolution * 2**j for j in range(num_blocks + 1)]
        channels = [synthesis_channels(r, channel_base, channel_min, channel_max) for r in resolutions]
        self.input = nn.Conv2d(in_channels, channels[0], 1)
        self.convs = nn.ModuleList(nn.Conv2d(channels[j], channels[j + 1], 3, padding=1) for j in range(num_blocks))
        self.torgb = nn.ModuleList(nn.Conv2d(c, out_channels, 3, padding=1) for c in channels)
        self.hidden_channels = channels[-1]

    def forward(self, features: Float[Tensor, "B C h w"]) -> Float[Tensor, "B O H W"]:
        return self.render(features).image

    def render(self, features: Float[Tensor, "B C h w"]) -> RendererOutput:
        """The image and the last hidden feature map."""
        expected = (self.in_channels, self.in_resolution, self.in_resolution)
        if tuple(features.shape[1:]) != expected:
            raise ValueError(
                f"features must have shape (B, {', '.join(map(str, expected))}), got {tuple(features.shape)}"
            )
        x = F.leaky_relu(_conv(self.input, features), 0.2)
        rgb = _conv(self.torgb[0], x)
        for conv, torgb in zip(self.convs, self.torgb[1:], strict=True):
            x = F.leaky_relu(_conv(conv, F.interpolate(x, scale_factor=2.0, mode="nearest")), 0.2)
            rgb = upsample2x(rgb) + _conv(torgb, x)
        return RendererOutput(image=rgb, hidden=x)


def _conv(layer: nn.Conv2d, x: Tensor) -> Tensor:
    """The layer's convolution in the 2D networks' memory format (:func:`giraffehd.networks.layers.conv2d`)."""
    return conv2d(x, layer.weight, layer.bias, padding=layer.padding[0])
