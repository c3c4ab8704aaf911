"""Output locations checked before any work: a folder that exists or can be made, that can be written, with
room for what will be written first.

Every entry point calls :func:`check_output_folder` on each folder it will write into before it loads a
model or computes anything, so that a path that is a file, lies under a file, is read-only or sits on a
full disk is refused in one line instead of a traceback at the end of the work. It also removes temporary
files that a killed earlier write left behind (:func:`giraffehd.atomic.write_atomically` names them
``.NAME.*.tmp``, :func:`giraffehd.media.save_video` ``.NAME.*.tmp.SUFFIX``) once they are old enough that
no running write can own them.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

# A temporary file this old belongs to no running write: the slowest single write (a checkpoint, a video)
# takes seconds.
STALE_AFTER_S = 600


class OutputError(ValueError):
    """An output location that cannot be written; the message is one line naming the key and the path."""


def check_output_folder(folder: str | Path, key: str, need_bytes: int = 0, create: bool = False) -> Path:
    """Make sure ``folder`` (config key ``key``) is, or can be made, a writable folder with ``need_bytes`` free;
    with ``create``, make it. Nothing else is left behind: a folder that does not exist yet is tested through
    the nearest one that does. Returns ``folder``."""
    folder = Path(folder)
    existing = next(p for p in [folder, *folder.parents, Path(".")] if p.exists())
    if not existing.is_dir():
        where = "is a file" if existing == folder else f"lies under {existing}, which is a file"
        raise OutputError(f"{key} {folder} {where}: choose a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise OutputError(f"{key} {folder} is not writable: {error.strerror or error} in {existing}") from None
    free = shutil.disk_usage(existing).free
    if free < need_bytes:
        raise OutputError(
            f"{key} {folder} has {free / 2**20:.1f} MiB free, and the first write needs about "
            f"{need_bytes / 2**20:.1f} MiB"
        )
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"{key} {folder} cannot be made: {error.strerror or error}") from None
    if folder.is_dir():
        remove_old_temporaries(folder)
    return folder


def remove_old_temporaries(folder: str | Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete ``.NAME.*.tmp`` files (and videos' ``.NAME.*.tmp.SUFFIX``) in ``folder`` last modified more than
    ``older_than_s`` seconds ago."""
    now = time.time()
    removed = []
    for path in [*Path(folder).glob(".*.tmp"), *Path(folder).glob(".*.tmp.*")]:
        try:
            if path.is_file() and now - os.stat(path).st_mtime > older_than_s:
                path.unlink()
                removed.append(path)
        except OSError:
            pass  # gone meanwhile, or not ours to remove
    return removed
