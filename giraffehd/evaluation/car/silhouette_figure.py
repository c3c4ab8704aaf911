"""The zoomed silhouette figure: for a few images, one window on the true silhouette's edge, enlarged with
nearest-neighbour pixels so that every pixel of each source shows as a block, sources side by side.

The window is centred on the true render's roof line: the boundary pixel (silhouette.py's inner boundary) of
the true mask nearest to the top of its bounding box in the column of its centroid. The same window is cut
from every source's image, so a column shows the same part of the car. Axis legend: B images, K sources.
"""

from collections.abc import Sequence

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from giraffehd.evaluation.car.silhouette import mask_boundary
from giraffehd.media import make_grid


def edge_window(mask: Bool[Tensor, "H W"], size: int) -> tuple[int, int]:
    """(top, left) of the ``size`` x ``size`` window centred on the roof line of ``mask`` (see the module
    docstring), moved inside the image; the image's centre for an empty mask."""
    height, width = mask.shape
    if size > min(height, width):
        raise ValueError(f"a window of {size} px does not fit in a {width}x{height} image")
    boundary = mask_boundary(mask[None])[0].nonzero().float()  # (P, 2): row, column
    if len(boundary) == 0:
        centre = (height / 2, width / 2)
    else:
        pixels = mask.nonzero().float()
        aim = torch.stack([pixels[:, 0].min(), pixels[:, 1].mean()])
        centre = boundary[(boundary - aim).square().sum(dim=1).argmin()].tolist()
    top = min(max(round(centre[0]) - size // 2, 0), height - size)
    left = min(max(round(centre[1]) - size // 2, 0), width - size)
    return top, left


def zoomed(image: Float[Tensor, "3 H W"], top: int, left: int, size: int, zoom: int) -> Float[Tensor, "3 Z Z"]:
    """The window of ``image`` at (top, left), ``size`` px square, each pixel repeated ``zoom`` x ``zoom``."""
    crop = image[:, top : top + size, left : left + size]
    return crop.repeat_interleave(zoom, dim=1).repeat_interleave(zoom, dim=2)


def quantile_images(f_score: Float[Tensor, " B"], count: int = 3) -> list[int]:
    """Indices of ``count`` images spread over the F-score's distribution: at quantiles 1/(count+1) ..
    count/(count+1) of the sorted scores (25%, 50% and 75% for three), so the figure is neither best nor worst."""
    order = f_score.argsort().tolist()
    n = len(order)
    if not 0 < count <= n:
        raise ValueError(f"cannot pick {count} of {n} images")
    return [order[min(n - 1, (k * n) // (count + 1))] for k in range(1, count + 1)]


def zoom_figure(
    sources: Sequence[Float[Tensor, "B 3 H W"]],
    true_mask: Bool[Tensor, "B H W"],
    indices: Sequence[int],
    size: int = 64,
    zoom: int = 4,
) -> Float[Tensor, "3 h w"]:
    """One row per index of ``indices``, one column per source (images in [0, 1], all the same size), each
    the window on image i's true silhouette (``true_mask``) zoomed ``zoom`` times: a grid in [0, 1]."""
    rows = []
    for i in indices:
        top, left = edge_window(true_mask[i], size)
        rows.append(torch.stack([zoomed(images[i].float().cpu(), top, left, size, zoom) for images in sources]))
    return make_grid(torch.stack(rows), padding=4)
