"""StyleGAN2 building blocks: equalized-lr linear, modulated convolution, noise injection, ToRGB.

Equalized learning rate: weights are stored as N(0, 1) / lr_multiplier and scaled at run time by
lr_multiplier / sqrt(fan_in), so every layer starts with unit-variance outputs for unit-variance inputs
and Adam's per-parameter steps are the same size in every layer.

Axis legend: B batch, C channels (I in, O out), D style (w) features, H W height and width.
"""

import math

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

NOISE_MODES: tuple[str, ...] = ("random", "const", "none")
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)
_DEMODULATION_EPS = 1e-8
# Convolutions of the 2D networks run on channels-last tensors (input and weight): on CPU, oneDNN's kernels
# for these narrow layers (16-64 channels at high resolution) are much faster that way, and the activations
# between convolutions keep the layout. Tests set it to torch.contiguous_format to check that results match.
CONV_MEMORY_FORMAT = torch.channels_last


def conv2d(
    x: Float[Tensor, "B I H W"], weight: Float[Tensor, "O I K K"], bias: Tensor | None = None, padding: int = 0
) -> Float[Tensor, "B O H W"]:
    """``F.conv2d`` (stride 1) with input and weight in ``CONV_MEMORY_FORMAT``."""
    x = x.contiguous(memory_format=CONV_MEMORY_FORMAT)
    return F.conv2d(x, weight.contiguous(memory_format=CONV_MEMORY_FORMAT), bias, padding=padding)


def check_noise_mode(noise_mode: str, rng: torch.Generator | None) -> None:
    """Raise a ValueError unless ``noise_mode`` is known and, for "random", an ``rng`` is given."""
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
    if noise_mode == "random" and rng is None:
        raise ValueError('noise_mode="random" needs a torch.Generator (explicit, seedable randomness)')


def scaled_lrelu(x: Float[Tensor, "*shape"]) -> Float[Tensor, "*shape"]:
    """leaky_relu(0.2) * sqrt(2): keeps the second moment of a zero-mean input about unchanged."""
    return F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate.

    ``bias_init`` is the bias the layer starts with (stored as bias_init / lr_multiplier, used as
    bias * lr_multiplier). ``activation="lrelu"`` applies ``scaled_lrelu``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias_init: float = 0.0,
        lr_multiplier: float = 1.0,
        activation: str = "linear",
    ):
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f'activation must be "linear" or "lrelu", got {activation!r}')
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_multiplier))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier
        self.activation = activation

    def forward(self, x: Float[Tensor, "*batch I"]) -> Float[Tensor, "*batch O"]:
        out = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return scaled_lrelu(out) if self.activation == "lrelu" else out

    def extra_repr(self) -> str:
        out_features, in_features = self.weight.shape
        return f"{in_features}, {out_features}, lr_multiplier={self.bias_gain}, activation={self.activation}"


class ModulatedConv2d(nn.Module):
    """StyleGAN2 convolution whose input channels are scaled per sample by a style s = affine(w).

    Non-fused form (no grouped convolution; fast on CPU): with W the equalized weight,

        y = conv2d(x * s, W)                                   (modulation)
        y = y * rsqrt(sum_{i,kh,kw} (W[o,i] * s[b,i])^2 + eps)  (demodulation, per sample b and output o)

    which equals convolving each sample with its own modulated and demodulated weights. With
    ``upsample=True`` the input is first upsampled x2 bilinearly (align_corners=False); the convolution
    keeps the spatial size ("same" padding, odd kernel sizes).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        w_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd for same padding, got {kernel_size}")
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.demodulate = demodulate
        self.upsample = upsample

    def forward(
        self, x: Float[Tensor, "B I H W"], w: Float[Tensor, "B D"], gain: float = 1.0
    ) -> Float[Tensor, "B O H2 W2"]:
        """``gain`` multiplies the output; it is applied to the (B, O) demodulation coefficients (or, without
        demodulation, to the weight), not to the output, so that it costs no pass over the activations."""
        styles = self.affine(w)
        weight = self.weight * self.weight_gain
        # Modulating before upsampling is the same (both are linear, per channel) and touches 4x fewer pixels.
        x = x * styles[:, :, None, None]
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        y = conv2d(x, weight if self.demodulate else weight * gain, padding=weight.shape[-1] // 2)
        if self.demodulate:
            # sum_{i,kh,kw} (W[o,i,kh,kw] s[b,i])^2 = sum_i s[b,i]^2 * (sum_{kh,kw} W[o,i,kh,kw]^2)
            energy = styles.square() @ weight.square().sum(dim=(2, 3)).T
            return y * (torch.rsqrt(energy + _DEMODULATION_EPS) * gain)[:, :, None, None]
        return y

    def extra_repr(self) -> str:
        out_channels, in_channels, kernel_size, _ = self.weight.shape
        return (
            f"{in_channels}, {out_channels}, kernel_size={kernel_size}, "
            f"demodulate={self.demodulate}, upsample={self.upsample}"
        )


class NoiseInjection(nn.Module):
    """Adds a learned strength (one scalar, shared by all channels, initialised at 0) times a noise image.

    ``noise_mode``: "random" draws fresh N(0, 1) noise per sample with the given ``rng``; "const" uses a
    fixed noise image made at construction from ``torch.Generator().manual_seed(seed)`` (identical on
    every construction: the deterministic mode for rendering and video); "none" adds nothing.
    """

    def __init__(self, resolution: int, seed: int = 0):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))
        const = torch.randn(1, 1, resolution, resolution, generator=torch.Generator().manual_seed(seed))
        self.register_buffer("noise_const", const)
        self.resolution = resolution

    def forward(
        self,
        x: Float[Tensor, "B C H W"],
        noise_mode: str = "const",
        rng: torch.Generator | None = None,
        gain: float = 1.0,
    ) -> Float[Tensor, "B C H W"]:
        """``x`` plus the noise times the strength times ``gain`` (for an ``x`` that already carries the gain)."""
        check_noise_mode(noise_mode, rng)
        if noise_mode == "none":
            return x
        if x.shape[-2:] != (self.resolution, self.resolution):
            raise ValueError(f"expected a {self.resolution}x{self.resolution} input, got {tuple(x.shape[-2:])}")
        if noise_mode == "const":
            noise = self.noise_const
        else:
            shape = (x.shape[0], 1, self.resolution, self.resolution)
            noise = torch.randn(shape, generator=rng, dtype=x.dtype, device=x.device)
        return x + noise * (self.strength * gain)

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}"


class ToRGB(nn.Module):
    """Modulated 1x1 convolution without demodulation, plus a bias: features to output channels."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, kernel_size=1, w_dim=w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Float[Tensor, "B I H W"], w: Float[Tensor, "B D"]) -> Float[Tensor, "B O H W"]:
        return self.conv(x, w) + self.bias[:, None, None]
