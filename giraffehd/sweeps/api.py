"""Render a trained generator from Python: the functions giraffehd-render is made of.

    import torch
    from giraffehd.sweeps import api
    model = api.load_model("runs/demo")                      # the EMA generator and its training prior
    scene = model.prior.sample(4, torch.Generator().manual_seed(0))
    scene = scene.replace(object_rotation_deg=90.0)           # any knob, degrees and scene units
    frames = api.render(model.generator, scene)               # images in [0, 1], masks, depth
    api.write_grid(frames.image.reshape(2, 2, *frames.image.shape[1:]), "renders/grid.png")

Rendering is deterministic (the generator's defaults: constant noise, bin-centre samples). On CPU the
float result of one scene can depend on how many scenes share its forward pass (BLAS blocking), never
on which: :func:`render` therefore always runs batches of exactly ``batch_size`` scenes (the last one
padded), so a frame re-rendered on its own with the same ``batch_size`` is bit-identical.

Axis legend: B scenes, S samples (rows), T steps or frames (columns).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor
from torch.nn import functional

from giraffehd.media import make_grid, save_image, save_video
from giraffehd.model.generator import Generator
from giraffehd.model_io import LoadedModel, load_model
from giraffehd.scene import SceneParameters, ScenePrior

__all__ = [
    "Frames",
    "LoadedModel",
    "depth_to_image",
    "load_model",
    "render",
    "resize_nearest",
    "sample_rows",
    "write_grid",
    "write_video",
]


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


def sample_rows(prior: ScenePrior, seeds: list[int], num_targets: int = 0) -> list[list[SceneParameters]]:
    """For each seed, ``1 + num_targets`` single scenes drawn in turn from ``torch.Generator().manual_seed(seed)``.

    The first is the seed's own scene; the rest are targets of interpolations and swaps. A seed's draws
    depend on nothing else (not on the other seeds, nor on how many targets are drawn after them).
    """
    rows = []
    for seed in seeds:
        rng = torch.Generator().manual_seed(seed)
        rows.append([prior.sample(1, rng) for _ in range(1 + num_targets)])
    return rows


def resize_nearest(images: Float[Tensor, "B C H W"], size: int) -> Float[Tensor, "B C size size"]:
    """Nearest-neighbour resize to ``size`` x ``size`` (no new colours, crisp pixels)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return functional.interpolate(images, size=(size, size), mode="nearest-exact")


def depth_to_image(
    depth: Float[Tensor, "B 1 h w"], alpha: Float[Tensor, "B 1 h w"], size: int, depth_range: tuple[float, float]
) -> Float[Tensor, "B 3 size size"]:
    """Grey depth images: near = white, far = dark grey, empty (alpha < 0.5) = black."""
    near, far = depth_range
    shade = 1 - 0.8 * (depth - near) / max(far - near, 1e-6)
    shade = torch.where(alpha >= 0.5, shade.clamp(0.2, 1.0), torch.zeros_like(shade))
    return resize_nearest(shade, size).expand(-1, 3, -1, -1)


def write_grid(images: Float[Tensor, "S T C H W"], path: str | Path) -> Path:
    """A PNG grid: rows = samples, columns = steps, 2 px white padding; 1-channel images drawn grey."""
    return save_image(make_grid(images.expand(-1, -1, 3, -1, -1), padding=2, pad_value=1.0), path)


def write_video(frames: Float[Tensor, "S T 3 H W"], path: str | Path, fps: int = 24, size: int | None = None) -> Path:
    """A video whose frame t shows every sample at step t side by side (no padding).

    ``size`` resizes each sample's tile (nearest neighbour); MP4 needs it (and so the frame) to be a
    multiple of 16. The format follows the suffix: .mp4 or .gif.
    """
    samples, steps, channels, height, width = frames.shape
    if size is not None:
        frames = resize_nearest(frames.reshape(-1, channels, height, width), size).reshape(
            samples, steps, channels, size, size
        )
    row = frames.permute(1, 2, 3, 0, 4).reshape(steps, channels, frames.shape[-2], samples * frames.shape[-1])
    return save_video(row, path, fps=fps)
