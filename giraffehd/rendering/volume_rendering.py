"""Volume rendering: from per-sample density and features to a rendered feature, depth and alpha.

For samples i along a ray with density sigma_i >= 0 and bin width delta_i:

    alpha_i         = 1 - exp(-sigma_i delta_i)
    transmittance_i = exp(-sum_{j < i} sigma_j delta_j)
    weight_i        = transmittance_i * alpha_i
    feature         = sum_i weight_i feature_i
    alpha           = sum_i weight_i = 1 - exp(-sum_i sigma_i delta_i)
    depth           = sum_i weight_i depth_i / alpha   (0 where alpha = 0)

Samples must be sorted by depth along the last axis.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor


@dataclass(frozen=True)
class RenderedRays:
    """What volume rendering returns per ray."""

    features: Float[Tensor, "*batch C"]
    depth: Float[Tensor, "*batch"]
    alpha: Float[Tensor, "*batch"]
    weights: Float[Tensor, "*batch S"]


def sample_weights(density: Float[Tensor, "*batch S"], deltas: Float[Tensor, "*batch S"]) -> Float[Tensor, "*batch S"]:
    """Contribution of each sample to its ray: transmittance up to the sample times its alpha."""
    optical_depth = density * deltas
    alpha = -torch.expm1(-optical_depth)
    # An exclusive cumulative sum (the intervals strictly before each sample). Subtracting each sample's
    # own optical depth from an inclusive sum cancels catastrophically in float32 when the last interval
    # is huge (the background's opaque far wall): its transmittance rounded to 1 and the weights summed
    # to nearly 2.
    before = torch.cumsum(torch.nn.functional.pad(optical_depth[..., :-1], (1, 0)), dim=-1)
    return torch.exp(-before) * alpha


def render_rays(
    density: Float[Tensor, "*batch S"],
    features: Float[Tensor, "*batch S C"],
    depths: Float[Tensor, "*batch S"],
    deltas: Float[Tensor, "*batch S"],
) -> RenderedRays:
    """Alpha-composite samples front to back along each ray."""
    weights = sample_weights(density, deltas)
    alpha = weights.sum(dim=-1)
    rendered = torch.einsum("...s,...sc->...c", weights, features)
    weighted_depth = (weights * depths).sum(dim=-1)
    depth = torch.where(alpha > 0, weighted_depth / alpha.clamp(min=torch.finfo(alpha.dtype).tiny), 0.0)
    return RenderedRays(features=rendered, depth=depth, alpha=alpha, weights=weights)
