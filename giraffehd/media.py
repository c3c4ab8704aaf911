"""Writing images, grids and videos. Images are float tensors in [0, 1], channels first.

Every file is written atomically (a temporary file beside it, then renamed): a kill or a full disk leaves
the old file or none, never a truncated PNG, GIF or MP4 beside complete ones.
Axis legend: B images, S samples (rows), T steps or frames (columns).
"""

import errno
import os
import shutil
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor
from torch.nn import functional

from giraffehd.atomic import umask_mode, write_atomically


def to_uint8(images: Float[Tensor, "*batch 3 H W"]) -> np.ndarray:
    """Float images in [0, 1] to uint8 arrays with channels last."""
    return (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).cpu().numpy()


def make_grid(
    images: Float[Tensor, "rows cols 3 H W"], padding: int = 2, pad_value: float = 1.0
) -> Float[Tensor, "3 h w"]:
    """Tile a rows x cols array of images into one image, with ``padding`` pixels between tiles."""
    rows, cols, channels, height, width = images.shape
    grid = torch.full(
        (channels, rows * (height + padding) + padding, cols * (width + padding) + padding),
        pad_value,
        dtype=images.dtype,
    )
    for r in range(rows):
        for c in range(cols):
            top, left = padding + r * (height + padding), padding + c * (width + padding)
            grid[:, top : top + height, left : left + width] = images[r, c].cpu()
    return grid


def save_image(image: Float[Tensor, "3 H W"], path: str | Path) -> Path:
    path = Path(path)
    data = to_uint8(image)
    return write_atomically(path, lambda file: iio.imwrite(file, data, extension=path.suffix))


def save_video(frames: Float[Tensor, "T 3 H W"], path: str | Path, fps: int = 24) -> Path:
    """Write frames as an MP4 (H.264, via imageio-ffmpeg) or a looping GIF, chosen by the suffix.

    MP4 frame sides must be divisible by 16 so that the encoder does not resize them.
    """
    path = Path(path)
    height, width = frames.shape[-2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    data = to_uint8(frames)
    if path.suffix == ".gif":
        options = {"duration": 1000 / fps, "loop": 0}
    elif path.suffix == ".mp4":
        if height % 16 or width % 16:
            raise ValueError(f"MP4 frame sides must be divisible by 16, got {height}x{width} for {path}")
        options = {"fps": fps, "codec": "libx264", "macro_block_size": 16}
    else:
        raise ValueError(f"unknown video format {path.suffix!r} for {path}: use .mp4 or .gif")
    # The encoder writes a named file (ffmpeg cannot write into an open one, and picks its container by the
    # name's suffix): render into a temporary name beside the target, ending as the target does, then rename.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        iio.imwrite(temporary, data, extension=path.suffix, **options)
        if path.suffix == ".mp4":
            _check_video(temporary, path, len(data))
        os.chmod(temporary, umask_mode())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _check_video(temporary: Path, path: Path, frames: int) -> None:
    """Raise if the encoder's file is not a whole video of ``frames`` frames. ffmpeg reports a failed
    close (a disk that filled after the space check) on its console and exits normally, so the file is read
    back before it may take the target's name."""
    try:
        found, _ = imageio_ffmpeg.count_frames_and_secs(str(temporary))
    except (RuntimeError, OSError):
        found = None
    if found != frames:
        free = shutil.disk_usage(path.parent).free
        raise OSError(
            errno.EIO,
            f"the video encoder did not finish {path} ({free // 2**20} MiB free on its disk; a full disk is the "
            f"usual cause): nothing was written under that name",
        )


def resize_nearest(images: Float[Tensor, "B C H W"], size: int) -> Float[Tensor, "B C size size"]:
    """Nearest-neighbour resize to ``size`` x ``size`` (no new colours, crisp pixels)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return functional.interpolate(images, size=(size, size), mode="nearest-exact")


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
