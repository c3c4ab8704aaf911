"""Compositing entities (objects and background) in 3D and the final image in 2D.

Two 3D operators, for two ways of placing samples:

* :func:`composite_entities` is GIRAFFE's operator for entities sampled at the *same* points:
  density = sum of densities, feature = density-weighted mean of features.
* :func:`merge_entity_samples` is its counterpart for entities sampled at *their own* depths (samples
  only inside each object's box): the samples of all entities are pooled and sorted by depth. Volume
  rendering the pooled samples integrates the summed density and weights each entity's feature by its
  own density, which is what the first operator does on shared samples.

Axis legend: B scenes, N entities, R rays, S samples, C channels, H height, W width.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor


@dataclass(frozen=True)
class CompositedSamples:
    """Density and feature of N entities combined at shared sample points."""

    density: Float[Tensor, "B *rays S"]
    features: Float[Tensor, "B *rays S C"]


@dataclass(frozen=True)
class MergedSamples:
    """Samples of N entities pooled per ray and sorted by depth; ``entity`` says whose each one is."""

    depths: Float[Tensor, "B R M"]
    deltas: Float[Tensor, "B R M"]
    density: Float[Tensor, "B R M"]
    features: Float[Tensor, "B R M C"]
    entity: Int[Tensor, "B R M"]


def composite_entities(
    density: Float[Tensor, "B N *rays S"], features: Float[Tensor, "B N *rays S C"]
) -> CompositedSamples:
    """GIRAFFE's scene compositing operator over the entity axis (dim 1).

    Where every entity has zero density the feature is their plain mean (the limit of equal weights);
    it carries no weight in rendering there.
    """
    total = density.sum(dim=1)
    occupied = total > 0
    safe_total = torch.where(occupied, total, torch.ones_like(total))
    share = torch.where(occupied[:, None], density / safe_total[:, None], 1.0 / density.shape[1])
    mixed = (share[..., None] * features).sum(dim=1)
    return CompositedSamples(density=total, features=mixed)


def merge_entity_samples(
    depths: Float[Tensor, "B N R S"],
    deltas: Float[Tensor, "B N R S"],
    density: Float[Tensor, "B N R S"],
    features: Float[Tensor, "B N R S C"],
) -> MergedSamples:
    """Pool the samples of N entities on each ray into one depth-sorted list of M = N * S samples."""
    b, n, r, s = depths.shape
    entity = torch.arange(n, device=depths.device).view(1, n, 1, 1).expand(b, n, r, s)

    def pool(x: Tensor) -> Tensor:
        return x.movedim(1, 2).reshape(b, r, n * s, *x.shape[4:])

    pooled_depths = pool(depths)
    order = torch.argsort(pooled_depths, dim=-1, stable=True)

    def take(x: Tensor) -> Tensor:
        index = order if x.dim() == 3 else order[..., None].expand(-1, -1, -1, x.shape[-1])
        return torch.gather(x, 2, index)

    return MergedSamples(
        depths=take(pooled_depths),
        deltas=take(pool(deltas)),
        density=take(pool(density)),
        features=take(pool(features)),
        entity=take(pool(entity)),
    )


def composite_images(
    foreground: Float[Tensor, "B C H W"], background: Float[Tensor, "B C H W"], mask: Float[Tensor, "B 1 H W"]
) -> Float[Tensor, "B C H W"]:
    """The 2D composite of GIRAFFE HD: foreground where the mask is 1, background where it is 0."""
    return foreground * mask + background * (1 - mask)


def steepen_mask(mask: Float[Tensor, "B 1 H W"], steepness: float) -> Float[Tensor, "B 1 H W"]:
    """A mask's ramp made ``steepness`` times as steep about 0.5: clamp(k * (mask - 0.5) + 0.5, 0, 1).

    Values below 0.5 - 0.5 / k become exactly 0 and values above 0.5 + 0.5 / k exactly 1; k = 1 returns
    the mask unchanged. An alpha upsampled from the low-resolution feature map has a band a few pixels wide
    around each object where it is small but not 0; steepening clears that band, so that pixels there
    are the background image's alone.
    """
    if steepness < 1:
        raise ValueError(f"mask steepness must be at least 1, got {steepness}")
    if steepness == 1:
        return mask
    return (steepness * (mask - 0.5) + 0.5).clamp(0, 1)
