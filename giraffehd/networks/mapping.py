"""StyleGAN2 mapping network z -> w, the average w, and the truncation trick.

Axis legend: B batch, Z z_dim, D w_dim.
"""

import torch
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.networks.layers import EqualLinear

_NORMALIZE_EPS = 1e-8


def normalize_second_moment(x: Float[Tensor, "*batch Z"]) -> Float[Tensor, "*batch Z"]:
    """Scale each vector to unit mean square: x / sqrt(mean(x^2) + eps)."""
    return x * torch.rsqrt(x.square().mean(dim=-1, keepdim=True) + _NORMALIZE_EPS)


def truncate(w: Float[Tensor, "*batch D"], w_avg: Float[Tensor, " D"], psi: float) -> Float[Tensor, "*batch D"]:
    """Truncation trick: w_avg + psi * (w - w_avg). psi = 1 keeps w, psi = 0 gives the average."""
    return w_avg + psi * (w - w_avg)


class MappingNetwork(nn.Module):
    """Normalize z to unit second moment, then ``num_layers`` equalized-lr linear layers with scaled lrelu.

    The hidden layers have ``w_dim`` features. ``forward`` changes no state: the average w used for
    truncation is computed on request by ``mean_w``.
    """

    def __init__(self, z_dim: int, w_dim: int, num_layers: int = 8, lr_multiplier: float = 0.01):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.Sequential(
            *(
                EqualLinear(dims[i], dims[i + 1], lr_multiplier=lr_multiplier, activation="lrelu")
                for i in range(num_layers)
            )
        )
        self.z_dim = z_dim
        self.w_dim = w_dim

    def forward(self, z: Float[Tensor, "B Z"]) -> Float[Tensor, "B D"]:
        return self.layers(normalize_second_moment(z))

    @torch.no_grad()
    def mean_w(self, num_samples: int, rng: torch.Generator) -> Float[Tensor, " D"]:
        """Average w over ``num_samples`` z ~ N(0, I) drawn with ``rng`` (on this network's device)."""
        if num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, got {num_samples}")
        weight = self.layers[0].weight
        z = torch.randn(num_samples, self.z_dim, generator=rng, dtype=weight.dtype, device=weight.device)
        return self(z).mean(dim=0)
