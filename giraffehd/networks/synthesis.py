"""StyleGAN2 synthesis network with skip ToRGB outputs, from a low-resolution feature map to an image.

Layers from low to high resolution, and the style ws[:, k] each one reads (StyleGAN2's sharing: a
block's ToRGB reads the same w as the next block's first convolution). With L = layers_per_block
(2 as in StyleGAN2; 1 as in GIRAFFE's lighter neural renderer):

    in_resolution:      input conv (3x3)               ws[:, 0]
                        input ToRGB                    ws[:, 1]
    block j = 1, 2, ..  conv0 (3x3, upsample x2)       ws[:, 1 + (j - 1) L]
    (resolution         conv1 (3x3), when L = 2        ws[:, 2 + (j - 1) L]
     in_resolution 2^j) ToRGB                          ws[:, 1 + j L]

so num_ws = 2 + L * num_blocks, with num_blocks = log2(out_resolution / in_resolution); for L = 2 that
is 2 * (num_blocks + 1), and block j reads 2j - 1, 2j and 2j + 1. Giving
ws[:, :k] one style and ws[:, k:] another (GIRAFFE HD's injection index) styles every layer reading an
index below k with the first. With k = ws_per_resolution[r].start, all feature maps below resolution r
use the first style, and every layer at r and above (plus the ToRGB at r / 2, which shares ws[:, k])
uses the second.

Axis legend: B batch, C channels, K number of ws, D w_dim, H W height and width.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.networks.layers import (
    LRELU_GAIN,
    LRELU_SLOPE,
    ModulatedConv2d,
    NoiseInjection,
    ToRGB,
    check_noise_mode,
)

MIN_OUT_RESOLUTION = 32
MAX_OUT_RESOLUTION = 1024


def _is_power_of_two(value: int) -> bool:
    return value >= 1 and value & (value - 1) == 0


def upsample2x(x: Float[Tensor, "B C H W"]) -> Float[Tensor, "B C H2 W2"]:
    """Bilinear x2 upsampling (align_corners=False): the [1, 3, 3, 1] filter of StyleGAN2's skip path."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally upsampling x2), then noise, bias and scaled lrelu."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        upsample: bool = False,
        noise_seed: int = 0,
    ):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, demodulate=True, upsample=upsample)
        self.noise = NoiseInjection(resolution, seed=noise_seed)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(
        self,
        x: Float[Tensor, "B I h w"],
        w: Float[Tensor, "B D"],
        noise_mode: str = "const",
        rng: torch.Generator | None = None,
    ) -> Float[Tensor, "B O H W"]:
        # scaled_lrelu(conv + noise + bias), with the lrelu gain applied to the small tensors (lrelu(g z) =
        # g lrelu(z)): one pass fewer over the activations, forward and backward.
        y = self.noise(self.conv(x, w, gain=LRELU_GAIN), noise_mode, rng, gain=LRELU_GAIN)
        return F.leaky_relu(y + (self.bias * LRELU_GAIN)[:, None, None], LRELU_SLOPE)


@dataclass(frozen=True)
class SynthesisBlockOutput:
    """Feature map and accumulated skip image after one block."""

    features: Float[Tensor, "B C H W"]
    rgb: Float[Tensor, "B O H W"]


class SynthesisBlock(nn.Module):
    """One resolution doubling: an upsampling conv, ``num_layers - 1`` more convs, and a ToRGB;
    rgb = upsample2x(rgb) + ToRGB(features). Reads ``num_layers + 1`` ws, the last for the ToRGB."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        img_channels: int,
        w_dim: int,
        resolution: int,
        seed: int,
        num_layers: int = 2,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            SynthesisLayer(
                in_channels if i == 0 else out_channels, out_channels, w_dim, resolution, upsample=i == 0,
                noise_seed=seed + i,
            )
            for i in range(num_layers)
        )  # fmt: skip
        self.torgb = ToRGB(out_channels, img_channels, w_dim)

    def forward(
        self,
        x: Float[Tensor, "B I h w"],
        rgb: Float[Tensor, "B O h w"],
        ws: Float[Tensor, "B L D"],
        noise_mode: str = "const",
        rng: torch.Generator | None = None,
    ) -> SynthesisBlockOutput:
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], noise_mode, rng)
        return SynthesisBlockOutput(features=x, rgb=upsample2x(rgb) + self.torgb(x, ws[:, len(self.layers)]))


@dataclass(frozen=True)
class SynthesisOutput:
    """The raw image, and the skip path's first image: the input ToRGB at the input resolution, the
    network's most direct reading of the feature map (what dual discrimination shows the discriminator)."""

    image: Float[Tensor, "B O H W"]
    first_rgb: Float[Tensor, "B O h w"]


def synthesis_channels(resolution: int, channel_base: int, channel_min: int, channel_max: int) -> int:
    """Feature channels at a resolution: clamp(channel_base // resolution, channel_min, channel_max)."""
    return min(max(channel_base // resolution, channel_min), channel_max)


class SynthesisNetwork(nn.Module):
    """Feature map (B, in_channels, in_resolution^2) to a raw image (B, out_channels, out_resolution^2).

    See the module docstring for the layers and which ws each reads. The output is not squashed: the
    caller applies tanh or sigmoid.
    """

    def __init__(
        self,
        in_channels: int,
        in_resolution: int,
        out_resolution: int,
        w_dim: int,
        out_channels: int = 3,
        channel_base: int = 8192,
        channel_max: int = 256,
        channel_min: int = 16,
        layers_per_block: int = 2,
    ):
        super().__init__()
        if not (_is_power_of_two(in_resolution) and in_resolution >= 4):
            raise ValueError(f"in_resolution must be a power of two >= 4, got {in_resolution}")
        if not (_is_power_of_two(out_resolution) and MIN_OUT_RESOLUTION <= out_resolution <= MAX_OUT_RESOLUTION):
            raise ValueError(
                f"out_resolution must be a power of two from {MIN_OUT_RESOLUTION} to {MAX_OUT_RESOLUTION}, "
                f"got {out_resolution}"
            )
        if out_resolution < in_resolution:
            raise ValueError(f"out_resolution ({out_resolution}) must be >= in_resolution ({in_resolution})")
        if layers_per_block not in (1, 2):
            raise ValueError(f"layers_per_block must be 1 or 2, got {layers_per_block}")
        if not 1 <= channel_min <= channel_max:
            raise ValueError(f"need 1 <= channel_min <= channel_max, got {channel_min=}, {channel_max=}")
        self.in_channels = in_channels
        self.in_resolution = in_resolution
        self.out_resolution = out_resolution
        self.out_channels = out_channels
        self.w_dim = w_dim
        num_blocks = out_resolution.bit_length() - in_resolution.bit_length()
        resolutions = [in_resolution * 2**j for j in range(num_blocks + 1)]
        self.channels = {r: synthesis_channels(r, channel_base, channel_min, channel_max) for r in resolutions}

        self.input_layer = SynthesisLayer(in_channels, self.channels[in_resolution], w_dim, in_resolution)
        self.input_torgb = ToRGB(self.channels[in_resolution], out_channels, w_dim)
        self.layers_per_block = layers_per_block
        self.blocks = nn.ModuleList(
            SynthesisBlock(
                self.channels[r // 2], self.channels[r], out_channels, w_dim, r,
                seed=self._first_w(j), num_layers=layers_per_block,
            )
            for j, r in enumerate(resolutions[1:], start=1)
        )  # fmt: skip
        self.num_ws = 2 + layers_per_block * num_blocks

    def _first_w(self, block: int) -> int:
        """Index of the w read by the first conv of block ``block`` (1-based)."""
        return 1 + (block - 1) * self.layers_per_block

    @property
    def ws_per_resolution(self) -> dict[int, range]:
        """The ws indices read by the layers at each resolution (neighbours share one index, see above).

        ``ws_per_resolution[r].start`` is the injection index that keeps every feature map below r on
        the first style.
        """
        ranges = {self.in_resolution: range(0, 2)}
        for j in range(1, len(self.blocks) + 1):
            first = self._first_w(j)
            ranges[self.in_resolution * 2**j] = range(first, first + self.layers_per_block + 1)
        return ranges

    def forward(
        self,
        features: Float[Tensor, "B C h w"],
        ws: Float[Tensor, "B K D"],
        noise_mode: str = "const",
        rng: torch.Generator | None = None,
    ) -> SynthesisOutput:
        """The image and the skip path's first image (see :class:`SynthesisOutput`)."""
        check_noise_mode(noise_mode, rng)
        expected = (self.in_channels, self.in_resolution, self.in_resolution)
        if tuple(features.shape[1:]) != expected:
            raise ValueError(
                f"features must have shape (B, {', '.join(map(str, expected))}), got {tuple(features.shape)}"
            )
        if ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape (B, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        x = self.input_layer(features, ws[:, 0], noise_mode, rng)
        rgb = first_rgb = self.input_torgb(x, ws[:, 1])
        for j, block in enumerate(self.blocks, start=1):
            first = self._first_w(j)
            out = block(x, rgb, ws[:, first : first + self.layers_per_block + 1], noise_mode, rng)
            x, rgb = out.features, out.rgb
        return SynthesisOutput(image=rgb, first_rgb=first_rgb)
