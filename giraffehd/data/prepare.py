"""One-off preparation of an image collection: every image read once, written as square PNGs at each
requested resolution, into a folder ``OUTPUT/R/`` or an archive ``OUTPUT/R.zip`` per resolution R.

Targets are written under hidden temporary names beside them and renamed into place only when every
image is done, so an interrupted run never leaves a half-written target (a killed process may leave a
hidden ``.R.tmp-*`` entry behind, which :func:`find_images` ignores).
"""

import io
import os
import secrets
import shutil
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from jaxtyping import UInt8
from omegaconf import ListConfig, OmegaConf
from PIL import Image
from tqdm import tqdm

from giraffehd.data.image_files import (
    CropBox,
    DataError,
    ImageCollection,
    check_resolution,
    find_images,
    name_list,
    resize_and_crop,
)
from giraffehd.outputs import check_output_folder


class _TargetWriter:
    """Writes the PNGs of one target to a temporary folder or zip beside it; ``commit`` renames it."""

    def __init__(self, target: Path, as_zip: bool) -> None:
        self.target = target
        self.temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        self.archive: zipfile.ZipFile | None = None
        if as_zip:
            self.archive = zipfile.ZipFile(self.temporary, "x", compression=zipfile.ZIP_STORED)  # PNG is compressed
        else:
            self.temporary.mkdir()

    def write(self, name: str, png: bytes) -> None:
        if self.archive is not None:
            self.archive.writestr(name, png)
        else:
            (self.temporary / name).write_bytes(png)

    def commit(self) -> None:
        if self.archive is not None:
            self.archive.close()
        old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
        if self.target.exists():
            os.replace(self.target, old)
        os.replace(self.temporary, self.target)
        _remove(old)

    def discard(self) -> None:
        if self.archive is not None:
            self.archive.close()
        _remove(self.temporary)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _without_targets(collection: ImageCollection, targets: Sequence[Path]) -> ImageCollection:
    """Leave out images that lie inside a target, for an output folder inside the source folder."""
    if collection.is_zip:
        return collection
    root = collection.root.resolve()
    prefixes = [f"{t.resolve().relative_to(root).as_posix()}/" for t in targets if t.resolve().is_relative_to(root)]
    if not prefixes:
        return collection
    names = [name for name in collection.names if not name.startswith(tuple(prefixes))]
    if not names:
        raise DataError(f"no images found in {collection.root} outside the targets being written")
    return collection.select(names)


def _png(pixels: UInt8[np.ndarray, "H W 3"]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def prepare_dataset(
    source: str | Path,
    output: str | Path,
    resolutions: Sequence[int],
    as_zip: bool = False,
    crop: CropBox | None = None,
    skip_corrupt: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """Write every image of ``source`` at every resolution; image i becomes ``{i:08d}.png``.

    Everything is validated before any image is read: the resolutions (powers of two in [8, 1024]) and
    that no target exists yet, unless ``overwrite``. With ``skip_corrupt`` unreadable images are left out
    (one warning lists them) and the remaining ones are numbered without gaps. Returns the targets.
    """
    unique = list(dict.fromkeys(resolutions))
    if not unique:
        raise DataError("resolutions must list at least one resolution")
    for resolution in unique:
        check_resolution(resolution, key="resolutions")
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise DataError(f"output is not a folder: {output}")
    check_output_folder(output, "output")  # under a file, read-only: refused before any image is read
    targets = [output / (f"{resolution}.zip" if as_zip else str(resolution)) for resolution in unique]
    for target in targets:
        if (target.exists() or target.is_symlink()) and not overwrite:
            raise DataError(f"target already exists: {target} (overwrite replaces it)")
    collection = _without_targets(find_images(source), targets)

    output.mkdir(parents=True, exist_ok=True)
    writers: list[_TargetWriter] = []
    skipped: list[str] = []
    try:
        for target in targets:
            writers.append(_TargetWriter(target, as_zip))
        for index in tqdm(range(len(collection)), desc="preparing images", unit="image"):
            name = collection.names[index]
            try:
                image = collection.read(index)
            except DataError:
                if not skip_corrupt:
                    raise
                skipped.append(name)
                continue
            number = index - len(skipped)
            for resolution, writer in zip(unique, writers, strict=True):
                try:
                    square = resize_and_crop(image, resolution, crop)
                except ValueError as error:
                    raise DataError(f"cannot crop image {name} in {collection.root}: {error}") from None
                writer.write(f"{number:08d}.png", _png(square))
        if len(skipped) == len(collection):
            raise DataError(f"none of the {len(collection)} images in {source} can be read")
        for writer in writers:
            writer.commit()
    except BaseException:
        for writer in writers:
            writer.discard()
        raise
    if skipped:
        warnings.warn(f"skipped {len(skipped)} unreadable images in {source}: {name_list(skipped)}", stacklevel=2)
    return targets


def run(cfg) -> list[Path]:
    """Run ``giraffehd-data prepare`` on its config (conf/prepare.yaml with the command line's overrides);
    returns the written targets."""
    for key in ("source", "output"):
        if OmegaConf.is_missing(cfg, key):
            raise DataError(f"{key} is required: giraffehd-data prepare source=FOLDER_OR_ZIP output=FOLDER")
    crop = OmegaConf.to_container(cfg.crop) if isinstance(cfg.crop, ListConfig) else cfg.crop
    if crop is not None and not (
        isinstance(crop, list) and len(crop) == 4 and all(isinstance(v, int) and not isinstance(v, bool) for v in crop)
    ):
        raise DataError(f"crop must be [left, top, width, height] in whole pixels, or null, got {crop!r}")
    resolutions = list(cfg.resolutions)
    if not all(isinstance(r, int) and not isinstance(r, bool) for r in resolutions):
        raise DataError(f"resolutions must list whole pixel sides, e.g. [64,256], got {resolutions}")
    return prepare_dataset(
        cfg.source,
        cfg.output,
        resolutions,
        as_zip=bool(cfg.zip),
        crop=None if crop is None else CropBox(*crop),
        skip_corrupt=bool(cfg.skip_corrupt),
        overwrite=bool(cfg.overwrite),
    )
