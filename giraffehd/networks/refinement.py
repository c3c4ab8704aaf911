"""GIRAFFE HD's refinement branch: a small style-based network at the output resolution, styled by the
background appearance, that adds an RGB residual to the foreground image (so the object can pick up
the scene's colour cast without its geometry depending on the background)."""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.networks.layers import LRELU_GAIN, LRELU_SLOPE, ModulatedConv2d, ToRGB


class RefinementNetwork(nn.Module):
    """``num_layers`` modulated 3x3 convs (bias, scaled lrelu) at full resolution, then a ToRGB."""

    def __init__(self, w_dim: int, channels: int = 16, num_layers: int = 2) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        widths = [3] + [channels] * num_layers
        self.convs = nn.ModuleList(
            ModulatedConv2d(i, o, 3, w_dim) for i, o in zip(widths[:-1], widths[1:], strict=True)
        )
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(channels)) for _ in range(num_layers))
        self.to_rgb = ToRGB(channels, 3, w_dim)

    def forward(self, rgb: Float[Tensor, "B 3 H W"], w: Float[Tensor, "B D"]) -> Float[Tensor, "B 3 H W"]:
        x = rgb
        for conv, bias in zip(self.convs, self.biases, strict=True):
            x = F.leaky_relu(conv(x, w, gain=LRELU_GAIN) + (bias * LRELU_GAIN)[:, None, None], LRELU_SLOPE)
        return self.to_rgb(x, w)
