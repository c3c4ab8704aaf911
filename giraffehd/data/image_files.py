"""Finding, reading and checking the images of a collection: a folder tree or a .zip archive.

Images are read as uint8 RGB arrays of shape (H, W, 3). Transparent images are composited onto white;
greyscale and other modes are converted to RGB. Every problem with the input data is reported as a
:class:`DataError` with a one-line message that names the file or path at fault.
"""

import io
import os
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from jaxtyping import UInt8
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
_IGNORED_DIRS = ("__MACOSX",)
# What a damaged file can raise from PIL or zipfile (UnidentifiedImageError is an OSError).
_READ_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError, zipfile.BadZipFile, KeyError)
_MAX_LISTED = 20


class DataError(ValueError):
    """Bad data input: a missing or empty path, an unreadable image, an invalid data option."""


@dataclass(frozen=True)
class CropBox:
    """A dataset-specific crop, in pixels of the original image."""

    left: int
    top: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.left < 0 or self.top < 0 or self.width < 1 or self.height < 1:
            raise DataError(f"a crop box needs left, top >= 0 and width, height >= 1, got {self}")


def _is_image_name(name: str) -> bool:
    parts = name.split("/")
    hidden = any(part.startswith(".") or part in _IGNORED_DIRS for part in parts)
    return not hidden and name.lower().endswith(IMAGE_SUFFIXES)


def _short_reason(error: BaseException) -> str:
    if isinstance(error, UnidentifiedImageError):
        return "not a recognised image format"
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class ImageCollection:
    """The images of one folder tree or zip archive, by their names relative to ``root``.

    A zip archive is opened lazily, once per process, so that a collection can be sent to DataLoader
    worker processes (pickling drops the open archive; a forked worker opens its own).
    """

    def __init__(self, root: str | Path, names: Sequence[str]) -> None:
        self.root = Path(root)
        self.names = tuple(names)
        self.is_zip = self.root.is_file()
        self._archive: zipfile.ZipFile | None = None
        self._archive_pid: int | None = None

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"ImageCollection(root={str(self.root)!r}, num_images={len(self)})"

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_archive": None, "_archive_pid": None}

    def select(self, names: Sequence[str]) -> "ImageCollection":
        """A collection of the same root with only the given names."""
        return ImageCollection(self.root, names)

    def _zip(self) -> zipfile.ZipFile:
        if self._archive is None or self._archive_pid != os.getpid():
            self._archive = zipfile.ZipFile(self.root)
            self._archive_pid = os.getpid()
        return self._archive

    def _open(self, name: str) -> io.BufferedIOBase:
        if self.is_zip:
            return io.BytesIO(self._zip().read(name))
        path = self.root / name
        if not path.is_file():  # opening a named pipe would wait for a writer forever
            raise OSError(f"{name} is not a regular file")
        return open(path, "rb")

    def read(self, index: int) -> UInt8[np.ndarray, "H W 3"]:
        """Decode image ``index`` to RGB; a DataError names the image if it cannot be read."""
        name = self.names[index]
        try:
            with self._open(name) as file, Image.open(file) as image:
                ImageOps.exif_transpose(image, in_place=True)
                return to_rgb(image)
        except _READ_ERRORS as error:
            raise DataError(f"cannot read image {name} in {self.root}: {_short_reason(error)}") from None


def to_rgb(image: Image.Image) -> UInt8[np.ndarray, "H W 3"]:
    """A PIL image of any mode as RGB; transparent pixels are composited onto a white background."""
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I"):
            values = values / 257.0  # 16-bit greyscale
        image = Image.fromarray(np.clip(np.round(values), 0, 255).astype(np.uint8), mode="L")
    bands = image.getbands()
    if "A" in bands or "a" in bands or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.array(image.convert("RGB"), dtype=np.uint8)


def find_images(path: str | Path) -> ImageCollection:
    """All images under a folder (recursively) or in a .zip archive, in sorted order.

    Hidden files and folders (a leading dot) and macOS ``__MACOSX`` folders are ignored.
    """
    root = Path(path)
    if not root.exists():
        raise DataError(f"data path does not exist: {path}")
    if root.is_dir():
        names, seen = [], {os.path.realpath(root)}
        # Linked subfolders are followed (a dataset assembled from links), each real folder once, so that a
        # link back up the tree cannot loop.
        for folder, dirs, files in os.walk(root, followlinks=True):
            kept = []
            for d in dirs:
                real = os.path.realpath(os.path.join(folder, d))
                if not d.startswith(".") and d not in _IGNORED_DIRS and real not in seen:
                    seen.add(real)
                    kept.append(d)
            dirs[:] = kept
            relative = Path(folder).relative_to(root).as_posix()
            names += [f if relative == "." else f"{relative}/{f}" for f in files]
    elif not root.is_file():  # opening a named pipe to look for a zip archive would wait forever
        raise DataError(f"data path is not a regular file or folder (a named pipe or device): {path}")
    elif zipfile.is_zipfile(root):
        try:
            with zipfile.ZipFile(root) as archive:
                names = [info.filename for info in archive.infolist() if not info.is_dir()]
        except (zipfile.BadZipFile, OSError) as error:
            raise DataError(f"cannot open zip archive {path}: {_short_reason(error)}") from None
    else:
        raise DataError(f"data path is neither a folder nor a zip archive: {path}")
    names = sorted(name for name in names if _is_image_name(name))
    if not names:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {path}")
    return ImageCollection(root, names)


def name_list(names: Sequence[str]) -> str:
    """Names for a one-line message: at most 20, then how many more."""
    listed = ", ".join(names[:_MAX_LISTED])
    return listed + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def check_images(
    collection: ImageCollection,
    skip_corrupt: bool,
    use_cache: bool = True,
    resolution: int | None = None,
    skip_key: str = "skip_corrupt",
) -> ImageCollection:
    """Decode every image once (remembered per file, see :mod:`giraffehd.data.image_check`); fail on the
    bad ones, or skip them with one warning. After this, reading any kept image succeeds. With
    ``resolution``, one warning also counts the images smaller than it (they will be upscaled).
    ``skip_key`` is the caller's name for ``skip_corrupt`` in the refusal's hint."""
    from giraffehd.data.image_check import decode_all

    found = decode_all(collection, use_cache=use_cache)
    bad = [(name, reason) for name, reason, _ in found if reason is not None]
    small = [(side, name) for name, reason, side in found if reason is None and resolution and side < resolution]
    if small:
        side, name = min(small)
        warnings.warn(
            f"{len(small)} of {len(collection)} images in {collection.root} are smaller than {resolution} px on "
            f"their shorter side and will be upscaled (blurred); the smallest is {name}, {side} px",
            stacklevel=2,
        )
    if not bad:
        return collection
    if not skip_corrupt:
        name, reason = bad[0]
        raise DataError(
            f"{len(bad)} of {len(collection)} images in {collection.root} cannot be read, the first is {name}: "
            f"{reason} ({skip_key}=true leaves them out)"
        )
    bad_names = {name for name, _ in bad}
    kept = [name for name in collection.names if name not in bad_names]
    if not kept:
        raise DataError(f"none of the {len(collection)} images in {collection.root} can be read")
    warnings.warn(
        f"skipping {len(bad)} unreadable images in {collection.root}: {name_list([n for n, _ in bad])}",
        stacklevel=2,
    )
    return collection.select(kept)


def resize_and_crop(
    image: UInt8[np.ndarray, "H W 3"], resolution: int, crop: CropBox | None = None
) -> UInt8[np.ndarray, "R R 3"]:
    """Optional crop box, then resize the shorter side to ``resolution`` (Lanczos) and centre-crop a square.

    The centre square is resampled straight from the source (``resize`` with a box), which equals resizing
    and then cropping, without resizing the pixels that the crop throws away. A crop box that does not
    fit inside the image raises a ValueError.
    """
    pil = Image.fromarray(image)
    if crop is not None:
        height, width = image.shape[:2]
        if crop.left + crop.width > width or crop.top + crop.height > height:
            raise ValueError(f"crop box {crop} does not fit inside an image of {width}x{height} pixels")
        pil = pil.crop((crop.left, crop.top, crop.left + crop.width, crop.top + crop.height))
    width, height = pil.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    square = pil.resize((resolution, resolution), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))
    return np.array(square, dtype=np.uint8)


def check_resolution(resolution: int, key: str = "data.resolution") -> None:
    """Raise a DataError naming ``key`` unless ``resolution`` is a power of two in [8, 1024]."""
    valid = isinstance(resolution, int) and 8 <= resolution <= 1024 and resolution & (resolution - 1) == 0
    if not valid:
        raise DataError(f"{key} must be a power of two between 8 and 1024, got {resolution}")
