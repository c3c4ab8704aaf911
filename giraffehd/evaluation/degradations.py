"""What a generator does to an image that the dataset's renderer does not: blur, a small shift, a small resize.

A reader's floor on the dataset's clean renders says how well it reads the data. A generated image is
softer, a little off centre and a little too big or too small, so a reader may misread it even where the
generator got the pose right. Measuring the reader on true renders degraded this way (the "degraded floor")
shows how much of a scorecard figure may be the reader's own error. Pure functions of images, and a source
wrapper that applies them with seeded draws. Axis legend: B images, C channels, H W pixels.
"""

import math
import zlib
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from torch.nn import functional as F

from giraffehd.evaluation.sources import ImageSource, Rendered
from giraffehd.scene import SceneParameters


@dataclass(frozen=True)
class Degradation:
    """A Gaussian blur of ``blur_sigma_px``, then a resize about the image centre by a factor uniform in
    [1 - max_rescale, 1 + max_rescale] and a shift uniform in [-max_shift_px, max_shift_px] per axis.
    Pixel figures are pixels of an image ``pixel_resolution`` wide (the evaluator's), scaled to the image."""

    blur_sigma_px: float | int = 1.0
    max_shift_px: float | int = 1.0
    max_rescale: float | int = 0.1
    pixel_resolution: int = 32

    def __post_init__(self) -> None:
        for name in ("blur_sigma_px", "max_shift_px", "max_rescale"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"degradation {name} must be at least 0, got {getattr(self, name)}")
        if self.max_rescale >= 1:
            raise ValueError(f"degradation max_rescale must be below 1, got {self.max_rescale}")
        if self.pixel_resolution < 1:
            raise ValueError(f"degradation pixel_resolution must be positive, got {self.pixel_resolution}")

    def describe(self) -> str:
        return (
            f"blur sigma {self.blur_sigma_px:g} px, shift up to {self.max_shift_px:g} px, "
            f"resize by up to {100 * self.max_rescale:g}% (pixels at {self.pixel_resolution} px)"
        )


def gaussian_blur(images: Float[Tensor, "B C H W"], sigma_px: float | int) -> Float[Tensor, "B C H W"]:
    """A separable Gaussian blur (kernel radius 3 sigma, reflected borders); sigma 0 returns the images."""
    if sigma_px < 0:
        raise ValueError(f"blur sigma must be at least 0, got {sigma_px}")
    if sigma_px == 0:
        return images
    radius = max(1, math.ceil(3 * sigma_px))
    if radius >= min(images.shape[-2:]):
        raise ValueError(f"blur sigma {sigma_px} px is too wide for {tuple(images.shape[-2:])} px images")
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (x / sigma_px) ** 2)
    kernel = kernel / kernel.sum()
    c = images.shape[1]
    out = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def warp(
    images: Float[Tensor, "B C H W"],
    shift_px: Float[Tensor, "B 2"],
    scale: Float[Tensor, " B"],
    mode: str = "bilinear",
) -> Float[Tensor, "B C H W"]:
    """Each image resized by ``scale`` about its centre, then moved by ``shift_px`` = (right, down) pixels.

    Output pixel p shows the input at centre + (p - centre - shift) / scale, interpolated by ``mode``
    ("bilinear" or "bicubic", which blurs less between pixels); pixels from outside the image repeat its
    border. A whole-pixel shift moves every pixel exactly.
    """
    b, _, h, w = images.shape
    if shift_px.shape != (b, 2) or scale.shape != (b,):
        shapes = f"{tuple(shift_px.shape)} and {tuple(scale.shape)}"
        raise ValueError(f"warp needs a (B, 2) shift and a (B,) scale for {b} images, got {shapes}")
    if not bool((scale > 0).all()):
        raise ValueError("warp scale must be positive")
    options = {"dtype": images.dtype, "device": images.device}
    # Normalised coordinates (align_corners=False): pixel centre u sits at (2u + 1) / W - 1.
    xs = (2 * torch.arange(w, **options) + 1) / w - 1
    ys = (2 * torch.arange(h, **options) + 1) / h - 1
    x = (xs[None, None, :] - 2 * shift_px[:, 0, None, None] / w) / scale[:, None, None]
    y = (ys[None, :, None] - 2 * shift_px[:, 1, None, None] / h) / scale[:, None, None]
    grid = torch.stack([x.expand(b, h, w), y.expand(b, h, w)], dim=-1)
    return F.grid_sample(images, grid, mode=mode, padding_mode="border", align_corners=False)


def degrade(
    rendered: Rendered, degradation: Degradation, shift_px: Float[Tensor, "B 2"], scale: Float[Tensor, " B"]
) -> Rendered:
    """The images blurred, resized and shifted; the masks resized and shifted only (the object's true
    coverage moves with it, but the blur is the image's fault, not the object's)."""
    pixel = rendered.image.shape[-1] / degradation.pixel_resolution  # image pixels per degradation pixel
    image = gaussian_blur(rendered.image, degradation.blur_sigma_px * pixel)
    return Rendered(warp(image, shift_px * pixel, scale), warp(rendered.mask, shift_px * pixel, scale))


def scene_seed(scene: SceneParameters, seed: int) -> int:
    """A seed for one scene (a batch of one): ``seed`` mixed with a checksum of its latent codes, which a
    knob sweep never turns (so every image of one base scene gets the same draw)."""
    codes = ("object_shape", "object_appearance", "background_shape", "background_appearance")
    data = b"".join(getattr(scene, name).detach().cpu().contiguous().numpy().tobytes() for name in codes)
    return seed * 1_000_003 + zlib.crc32(data)


def draw_degradation(
    degradation: Degradation, batch_size: int, rng: torch.Generator
) -> tuple[Float[Tensor, "B 2"], Float[Tensor, " B"]]:
    """Shifts (pixels at the degradation's resolution) and resize factors, uniform in their ranges."""
    shift = (2 * torch.rand(batch_size, 2, generator=rng) - 1) * degradation.max_shift_px
    scale = 1 + (2 * torch.rand(batch_size, generator=rng) - 1) * degradation.max_rescale
    return shift, scale


def degraded_source(source: ImageSource, degradation: Degradation, seed: int = 0) -> ImageSource:
    """``source`` with each image degraded. The shift and resize are drawn from ``seed`` and the scene's latent
    codes: the same scene always gets the same degradation however it is batched, and every image of a knob
    sweep's base scene gets its base scene's (a generator that draws one car a little off, too big or too
    small does so as the knob turns; the per-seed offset forgives a constant misreading this causes, the
    global offset does not). Random scenes, with codes of their own, each get their own."""

    def render(scene: SceneParameters) -> Rendered:
        draws = [
            draw_degradation(
                degradation, 1, torch.Generator().manual_seed(scene_seed(scene.select(slice(i, i + 1)), seed))
            )
            for i in range(scene.batch_size)
        ]
        shift, scale = torch.cat([d[0] for d in draws]), torch.cat([d[1] for d in draws])
        rendered = source(scene)
        device = rendered.image.device
        return degrade(rendered, degradation, shift.to(device), scale.to(device))

    return render
