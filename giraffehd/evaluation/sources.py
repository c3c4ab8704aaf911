"""Image sources: anything that turns scene parameters into an image and its foreground mask.

The control metrics read images from a source, so the same protocol scores a trained generator, the
synthetic dataset's own renderer (the floor: real images with known knobs) and stand-ins in tests.
Axis legend: B scenes, H W pixels.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm import tqdm

from giraffehd.data.synthetic.renderer import Lighting, render_synthetic
from giraffehd.evaluation.labels import SyntheticDataset
from giraffehd.scene import FIELD_NAMES, SceneParameters


@dataclass(frozen=True)
class Rendered:
    image: Float[Tensor, "B 3 H W"]  # [-1, 1]
    mask: Float[Tensor, "B 1 H W"]  # foreground, [0, 1]


ImageSource = Callable[[SceneParameters], Rendered]


def seeded_images(source: ImageSource, prior, seed: int) -> Callable[[int, int], Float[Tensor, "B 3 H W"]]:
    """``images(start, count)``: images ``start .. start + count - 1`` of ``source`` in [0, 1], image i drawn
    from ``prior`` with seed ``seed * 1_000_003 + i`` (so any split into calls gives the same images); the
    sampler FID/KID reads (``giraffehd-eval`` and ``scripts/fid_over_training.py``)."""

    def images(start: int, count: int) -> Tensor:
        draws = (torch.Generator().manual_seed(seed * 1_000_003 + i) for i in range(start, start + count))
        scenes = [prior.sample(1, draw) for draw in draws]
        return (source(SceneParameters.cat(scenes)).image + 1) / 2

    return images


def in_batches(source: ImageSource, scene: SceneParameters, batch_size: int, desc: str | None = None) -> Rendered:
    """Render ``scene`` through ``source`` ``batch_size`` scenes at a time (a progress bar when ``desc``)."""
    starts = range(0, scene.batch_size, batch_size)
    bar = tqdm(starts, desc=desc, unit="batch", leave=False, disable=desc is None)
    parts = [source(scene.select(slice(i, i + batch_size))) for i in bar]
    return Rendered(torch.cat([p.image for p in parts]), torch.cat([p.mask for p in parts]))


def scene_key(scene: SceneParameters) -> bytes:
    """The bytes of every parameter of one scene (a batch of one): equal scenes, equal keys."""
    return b"".join(getattr(scene, name).detach().cpu().contiguous().numpy().tobytes() for name in FIELD_NAMES)


def memoised(source: ImageSource) -> ImageSource:
    """``source`` rendering each distinct scene once: later requests for it get the stored images (a sweep
    read by two readers, or a floor read clean and degraded, is rendered once)."""
    store: dict[bytes, tuple[Tensor, Tensor]] = {}

    def render(scene: SceneParameters) -> Rendered:
        keys = [scene_key(scene.select(slice(i, i + 1))) for i in range(scene.batch_size)]
        new, seen = [], set(store)
        for i, key in enumerate(keys):
            if key not in seen:
                new.append(i)
                seen.add(key)
        if new:
            out = source(scene.select(torch.tensor(new)))
            for j, i in enumerate(new):
                store[keys[i]] = (out.image[j], out.mask[j])
        return Rendered(torch.stack([store[k][0] for k in keys]), torch.stack([store[k][1] for k in keys]))

    return render


def generator_source(generator: torch.nn.Module, truncation_psi: float = 1.0) -> ImageSource:
    """A trained generator (eval mode), rendering deterministically (no noise, no stratified samples)."""
    device = next(generator.parameters()).device

    @torch.no_grad()
    def render(scene: SceneParameters) -> Rendered:
        out = generator(scene.to(device), truncation_psi=truncation_psi)
        return Rendered(out.image.clamp(-1, 1).cpu(), out.mask.cpu())

    return render


def _uniform_index(code: Tensor, count: int) -> Tensor:
    """A standard normal code value to a uniformly distributed index in [0, count)."""
    u = 0.5 * (1 + torch.erf(code / math.sqrt(2)))
    return (u * count).long().clamp(0, count - 1)


def synthetic_source(
    dataset: SyntheticDataset,
    resolution: int | None = None,
    lighting: Lighting | None = None,
    supersampling: int = 2,
) -> ImageSource:
    """The dataset's own renderer. Class and colour come from the first dimension of each object's shape
    and appearance code (uniform over the classes and the palette, as in the dataset). Lighting: the
    argument, else the dataset's labels (when they record it), else the renderer's default (which the
    built-in presets use)."""
    lighting = dataset_lighting(dataset) if lighting is None else lighting
    palette = torch.tensor(list(dataset.palette.values()), dtype=torch.float32)
    size = resolution or dataset.resolution
    colour_names = list(dataset.palette)

    def render(scene: SceneParameters) -> Rendered:
        classes = _uniform_index(scene.object_shape[..., 0], len(dataset.classes))
        colours = _uniform_index(scene.object_appearance[..., 0], len(colour_names))
        out = render_synthetic(scene, classes, palette[colours], dataset.classes, size, lighting, supersampling)
        return Rendered(out.image * 2 - 1, out.mask.clamp(0, 1))

    return render


def dataset_lighting(dataset: SyntheticDataset) -> Lighting:
    """The lighting ``labels.json`` records, else the renderer's default (which the built-in presets use)."""
    recorded = dataset.lighting or {}
    return Lighting(**{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()})


def synthetic_colour_index(scene: SceneParameters, num_colours: int) -> Tensor:
    """The palette index :func:`synthetic_source` paints each object with (B, N)."""
    return _uniform_index(scene.object_appearance[..., 0], num_colours)
