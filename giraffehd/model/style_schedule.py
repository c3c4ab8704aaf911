"""Which style each layer of the foreground 2D renderer reads: shape before the injection index,
appearance from it on (GIRAFFE HD), with the switch moved at random for style mixing during training.

Axis legend: B scenes, N objects, L renderer layers (num_ws), W style dims.
"""

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor


def present_mean(styles: Float[Tensor, "B N W"], present: Bool[Tensor, "B N"]) -> Float[Tensor, "B W"]:
    """Mean style of the present objects; the mean of all slots for a scene with none present."""
    weights = present.to(styles.dtype)
    count = weights.sum(dim=1, keepdim=True)
    weights = torch.where(count > 0, weights / count.clamp(min=1), 1.0 / present.shape[1])
    return torch.einsum("bn,bnw->bw", weights, styles)


def switch_layers(
    batch_size: int,
    num_ws: int,
    injection_index: int,
    mixing_prob: float = 0.0,
    rng: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Int[Tensor, " B"]:
    """Per scene, the first layer that reads the appearance style: ``injection_index``, or with
    probability ``mixing_prob`` a uniform layer in [1, num_ws)."""
    cut = torch.full((batch_size,), injection_index, device=device)
    if mixing_prob > 0:
        if rng is None:
            raise ValueError("style mixing needs an rng (explicit, seedable randomness)")
        mix = torch.rand(batch_size, generator=rng, device=device) < mixing_prob
        random_cut = torch.randint(1, num_ws, (batch_size,), generator=rng, device=device)
        cut = torch.where(mix, random_cut, cut)
    return cut


def layer_styles(
    w_shape: Float[Tensor, "B W"], w_appearance: Float[Tensor, "B W"], switch: Int[Tensor, " B"], num_ws: int
) -> Float[Tensor, "B L W"]:
    """Layer l of scene b reads ``w_shape[b]`` where l < switch[b], else ``w_appearance[b]``."""
    layer = torch.arange(num_ws, device=w_shape.device)
    use_shape = (layer[None, :] < switch[:, None])[..., None]
    return torch.where(use_shape, w_shape[:, None], w_appearance[:, None])
