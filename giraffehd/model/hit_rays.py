"""Evaluate a field only on the rays that hit a box: pack those rays to the front, then scatter back.

Rays that miss a box have zero-width bins, so their samples add nothing to the rendering. Packing puts
the hit rays of each (scene, object) first, in their original order, and keeps the first K rays of
every row, K the most hits of any row; scattering writes K rays' values back to their places and zeros
elsewhere. Axis legend: B scenes, N objects, R rays, K kept rays, S samples, C channels.
"""

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor


def pack_hit_rays(hit: Bool[Tensor, "B N R"]) -> Int[Tensor, "B N K"]:
    """Indices of each row's hit rays first (stable order), truncated to the most hits of any row."""
    kept = int(hit.sum(dim=-1).max()) if hit.numel() else 0
    return torch.argsort((~hit).to(torch.uint8), dim=-1, stable=True)[..., :kept]


def gather_rays(values: Float[Tensor, "B N R S *C"], order: Int[Tensor, "B N K"]) -> Float[Tensor, "B N K S *C"]:
    """The rays at ``order`` of each row."""
    index = order.reshape(*order.shape, *(1,) * (values.dim() - 3)).expand(*order.shape, *values.shape[3:])
    return torch.gather(values, 2, index)


def scatter_rays(
    values: Float[Tensor, "B N K S *C"], order: Int[Tensor, "B N K"], num_rays: int
) -> Float[Tensor, "B N R S *C"]:
    """Values of the kept rays written back to their places among ``num_rays``; zero elsewhere."""
    b, n, k = order.shape
    index = order.reshape(b, n, k, *(1,) * (values.dim() - 3)).expand(values.shape)
    out = values.new_zeros(b, n, num_rays, *values.shape[3:])
    return out.scatter(2, index, values)
