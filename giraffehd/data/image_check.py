"""The start-up check of an image collection: every image decoded, in parallel, remembered per file.

A cheap header check misses what only decoding finds (a truncated JPEG, a PNG whose compressed data is
damaged), and training would then stop at that image, at the same place on every resume. So every image
is decoded once, as training will decode it, on a few threads (PIL releases the GIL while decoding), with
a progress bar. What was found is remembered per file, keyed by its size and modification time (for a zip
archive, its CRC and size), in a cache file of the user's cache folder, so a second start is instant and a
changed file is checked again. Only regular files are opened: a named pipe or a device called ``x.png``
would block or never end, and is reported as unreadable instead.
"""

import hashlib
import json
import os
import stat
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from giraffehd.atomic import write_atomically

CACHE_VERSION = 2  # 2: each entry also holds the shorter side
WORKERS = 4


def cache_folder() -> Path:
    """Where the checks are remembered: ``$GIRAFFEHD_CACHE`` or ``$XDG_CACHE_HOME/giraffehd`` (~/.cache)."""
    if os.environ.get("GIRAFFEHD_CACHE"):
        return Path(os.environ["GIRAFFEHD_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "giraffehd"


def cache_file(root: Path) -> Path:
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:20]
    return cache_folder() / "image_checks" / f"{digest}.json"


def file_keys(collection) -> list[list | None]:
    """Per image, what identifies its current content without reading it: [size, mtime_ns] in a folder
    ([size, CRC] in a zip); None for something that is not a regular file, or is gone."""
    if collection.is_zip:
        with zipfile.ZipFile(collection.root) as archive:
            infos = {info.filename: info for info in archive.infolist()}
        return [[infos[n].file_size, infos[n].CRC] if n in infos else None for n in collection.names]
    keys = []
    for name in collection.names:
        try:
            info = os.stat(collection.root / name)
        except OSError:
            keys.append(None)
            continue
        keys.append([info.st_size, info.st_mtime_ns] if stat.S_ISREG(info.st_mode) else None)
    return keys


def _load(path: Path, root: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        if data.get("version") == CACHE_VERSION and data.get("root") == str(root.resolve()):
            return data["files"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no cache, or one we cannot use: check everything again
    return {}


def _save(path: Path, root: Path, files: dict) -> None:
    record = {"version": CACHE_VERSION, "root": str(root.resolve()), "files": files}
    try:
        write_atomically(path, lambda f: f.write(json.dumps(record, separators=(",", ":")).encode()))
    except OSError:
        pass  # an unwritable cache folder only costs the next start its speed


def decode_problems(collection, use_cache: bool = True, workers: int = WORKERS) -> list[tuple[str, str]]:
    """(name, reason) for every image of ``collection`` that cannot be decoded, in collection order."""
    return [(name, reason) for name, reason, _ in decode_all(collection, use_cache, workers) if reason is not None]


def decode_all(collection, use_cache: bool = True, workers: int = WORKERS) -> list[tuple[str, str | None, int]]:
    """(name, reason or None, shorter side in pixels or 0) for every image of ``collection``, in order."""
    from giraffehd.data.image_files import DataError

    keys = file_keys(collection)
    path = cache_file(collection.root)
    known = _load(path, collection.root) if use_cache else {}
    results: dict[str, list] = {}
    todo = []
    for index, (name, key) in enumerate(zip(collection.names, keys, strict=True)):
        if key is None:
            results[name] = [None, "not a regular file (a named pipe, device or socket, or gone)", 0]
        elif name in known and known[name][0] == key:
            results[name] = known[name]
        else:
            todo.append(index)

    def decode(index: int) -> tuple[str | None, int]:
        try:
            pixels = collection.read(index)
        except DataError as error:
            return str(error).split(": ", 1)[-1], 0
        return None, int(min(pixels.shape[:2]))

    if todo:
        with (
            ThreadPoolExecutor(max_workers=workers) as pool,
            tqdm(
                total=len(todo), desc="decoding images (once; remembered)", unit="img", disable=len(todo) < 200
            ) as bar,
        ):
            for index, (reason, side) in zip(todo, pool.map(decode, todo), strict=True):
                results[collection.names[index]] = [keys[index], reason, side]
                bar.update(1)
        if use_cache:
            _save(path, collection.root, {n: r for n, r in results.items() if r[0] is not None})
    return [(name, results[name][1], results[name][2]) for name in collection.names]
