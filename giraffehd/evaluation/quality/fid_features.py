"""Inception features of real image files and of generated images, batched, and a cache for the real ones.

A generated image (floats in [0, 1]) is clamped and rounded to 8 bits, exactly as if it were saved as PNG, so
it takes the same path as a real file: 8-bit RGB -> ``inception_input`` -> ``InceptionFeatures``.

Reference features are cached in ``cache_dir`` (default ``~/.cache/giraffehd/fid``), one ``.npz`` per reference
set, keyed by the folder, each file's resolved path, size and modification time, the count and the weights'
SHA-256; the file is written to a temporary name and renamed, so a crash never leaves a half-written cache.
"""

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float, UInt8
from PIL import Image
from tqdm import tqdm

from giraffehd.atomic import write_atomically
from giraffehd.evaluation.quality.inception import FEATURE_DIM, InceptionFeatures, inception_input

# The image types clean-fid lists in a folder (its .npy arrays left out: a reference set is a folder of images).
IMAGE_EXTENSIONS = frozenset({"bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp", "JPEG", "JPG", "PNG"})
# Part of the cache key: a change to how features are computed must bump it, so that old caches are not read.
CACHE_VERSION = 1


@dataclass(frozen=True)
class ReferenceFeatures:
    features: Float[np.ndarray, "M 2048"]
    cache_file: Path  # the .npz they were read from or written to


def reference_files(reference: str | Path | Sequence[str | Path], num_reference: int | None = None) -> list[Path]:
    """Image files of a folder (recursive, sorted, as clean-fid lists them) or a given list; the first ``num``."""
    if isinstance(reference, (str, Path)):
        folder = Path(reference)
        if not folder.is_dir():
            raise FileNotFoundError(f"reference folder not found: {folder}")
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix[1:] in IMAGE_EXTENSIONS)
    else:
        files = [Path(p) for p in reference]
    if num_reference is not None:
        if num_reference > len(files):
            raise ValueError(f"asked for {num_reference} reference images, found {len(files)} in {reference}")
        files = files[:num_reference]
    if len(files) < 2:
        raise ValueError(f"FID needs at least 2 reference images, found {len(files)} in {reference}")
    return files


def read_image(path: Path) -> UInt8[np.ndarray, "H W 3"]:
    """An image file as 8-bit RGB (grey and RGBA files converted, as clean-fid reads them)."""
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


def to_pixels(images: Float[torch.Tensor, "B 3 H W"]) -> UInt8[np.ndarray, "B H W 3"]:
    """Images in [0, 1] as the 8-bit values a PNG of them would hold (clamped, rounded)."""
    pixels = (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).numpy()


def batch_features(
    images: Sequence[UInt8[np.ndarray, "H W 3"]], model: InceptionFeatures, device: torch.device
) -> Float[np.ndarray, "B 2048"]:
    """Inception features of a batch of 8-bit images (any size each)."""
    batch = torch.stack([inception_input(image) for image in images])
    with torch.no_grad():
        return model(batch.to(device)).cpu().numpy()


def file_features(
    files: Sequence[Path],
    model: InceptionFeatures,
    batch_size: int,
    device: torch.device,
    progress: bool = True,
    description: str = "FID reference",
) -> Float[np.ndarray, "M 2048"]:
    """Inception features of image files, ``batch_size`` at a time, in order."""
    starts = range(0, len(files), batch_size)
    batches = (batch_features([read_image(f) for f in files[s : s + batch_size]], model, device) for s in starts)
    return np.concatenate(list(tqdm(batches, total=len(starts), desc=description, disable=not progress)))


def sample_features(
    sample_images: Callable[[int, int], Float[torch.Tensor, "B 3 H W"]],
    num_samples: int,
    model: InceptionFeatures,
    batch_size: int,
    device: torch.device,
    progress: bool = True,
) -> Float[np.ndarray, "N 2048"]:
    """Inception features of ``num_samples`` generated images, each treated exactly like an 8-bit PNG file.

    ``sample_images(start, count)`` gives images ``start .. start + count - 1``, floats in [0, 1].
    """
    features = []
    for start in tqdm(range(0, num_samples, batch_size), desc="FID samples", disable=not progress):
        count = min(batch_size, num_samples - start)
        images = sample_images(start, count)
        if images.ndim != 4 or images.shape[:2] != (count, 3) or not images.is_floating_point():
            raise ValueError(
                f"sample_images({start}, {count}) gave {images.dtype} {tuple(images.shape)}, "
                f"not float ({count}, 3, H, W)"
            )
        if not torch.isfinite(images).all():
            raise ValueError(f"sample_images({start}, {count}) gave non-finite values")
        features.append(batch_features(list(to_pixels(images)), model, device))
    return np.concatenate(features)


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/giraffehd/fid, or ~/.cache/giraffehd/fid."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "giraffehd" / "fid"


def _cache_key(files: Sequence[Path], weights_sha256: str) -> tuple[str, str]:
    """(key, cache file name) of a reference set."""
    listing = [(str(Path(f).resolve()), os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    text = json.dumps({"version": CACHE_VERSION, "mode": "clean", "weights": weights_sha256, "files": listing})
    key = hashlib.sha256(text.encode()).hexdigest()
    return key, f"{Path(listing[0][0]).parent.name}-{len(files)}-{key[:16]}.npz"


def _read_cache(cache: Path, key: str, count: int) -> Float[np.ndarray, "M 2048"] | None:
    if not cache.is_file():
        return None
    try:
        with np.load(cache) as stored:
            if str(stored["key"]) == key and stored["features"].shape == (count, FEATURE_DIM):
                return stored["features"]
    except (OSError, ValueError, KeyError):
        pass  # unreadable or foreign cache file: recompute and overwrite it
    return None


def reference_features(
    files: Sequence[Path],
    model: InceptionFeatures,
    weights_sha256: str,
    cache_dir: Path,
    batch_size: int,
    device: torch.device,
    progress: bool = True,
) -> ReferenceFeatures:
    """Inception features of real image files, from the cache file, or computed and written into it."""
    key, name = _cache_key(files, weights_sha256)
    cache = cache_dir / name
    features = _read_cache(cache, key, len(files))
    if features is None:
        features = file_features(files, model, batch_size, device, progress, f"FID reference {cache.stem}")
        write_atomically(cache, lambda file: np.savez(file, features=features, key=np.array(key)))
    return ReferenceFeatures(features, cache)
