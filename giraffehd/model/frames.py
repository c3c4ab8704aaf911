"""Scenes to pixels: every tool (render, view, invert, mesh export, evaluation scripts) renders through here.

On CPU the float result of one scene can depend on how many scenes share its forward pass (BLAS
blocking), never on which: :func:`render` therefore always runs batches of exactly ``batch_size`` scenes
(the last one padded), so a frame re-rendered on its own with the same ``batch_size`` is bit-identical.
Rendering is deterministic (the generator's defaults: constant noise, bin-centre samples).
Axis legend: B scenes; H, W image; h, w feature map.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.media import resize_nearest
from giraffehd.model.generator import Generator
from giraffehd.scene import SceneParameters


@dataclass(frozen=True)
class Frames:
    """Rendered scenes, ready to write."""

    image: Float[Tensor, "B 3 H W"]  # in [0, 1]
    mask: Float[Tensor, "B 1 H W"]  # foreground mask in [0, 1]
    depth: Float[Tensor, "B 1 h w"]  # expected foreground depth, scene units, feature-map resolution
    alpha: Float[Tensor, "B 1 h w"]  # accumulated foreground alpha at the same resolution


@torch.no_grad()
def render(
    generator: Generator,
    scene: SceneParameters,
    truncation_psi: float | int = 1.0,
    batch_size: int = 16,
    progress: Callable[[int], object] | None = None,
) -> Frames:
    """Render every scene of ``scene`` in forward passes of exactly ``batch_size`` scenes.

    ``progress(n)`` is called after each pass with the number of scenes it finished (e.g. ``tqdm.update``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    device = next(generator.parameters()).device
    parts = []
    for start in range(0, scene.batch_size, batch_size):
        count = min(batch_size, scene.batch_size - start)
        index = torch.arange(start, start + batch_size).clamp(max=scene.batch_size - 1)  # pad with the last
        out = generator(scene.select(index).to(device), truncation_psi=float(truncation_psi))
        parts.append(
            Frames(
                image=((out.image[:count].clamp(-1, 1) + 1) / 2).cpu(),
                mask=out.mask[:count].cpu(),
                depth=out.depth[:count].cpu(),
                alpha=out.low_res_alpha[:count].cpu(),
            )
        )
        if progress is not None:
            progress(count)
    return Frames(*(torch.cat([getattr(p, name) for p in parts]) for name in ("image", "mask", "depth", "alpha")))


def depth_to_image(
    depth: Float[Tensor, "B 1 h w"], alpha: Float[Tensor, "B 1 h w"], size: int, depth_range: tuple[float, float]
) -> Float[Tensor, "B 3 size size"]:
    """Grey depth images: near = white, far = dark grey, empty (alpha < 0.5) = black."""
    near, far = depth_range
    shade = 1 - 0.8 * (depth - near) / max(far - near, 1e-6)
    shade = torch.where(alpha >= 0.5, shade.clamp(0.2, 1.0), torch.zeros_like(shade))
    return resize_nearest(shade, size).expand(-1, 3, -1, -1)
