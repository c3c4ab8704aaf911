"""Reading files that torch saved: checkpoints, exported models, evaluators, pose encoders.

:func:`read_torch_file` is the one place such a file is opened. Every failure is one line in the caller's
error type, naming the file: missing, not a regular file (a named pipe would block the reader forever),
empty, not a PyTorch file at all (text, an image), damaged, or holding Python objects. Files are loaded
with ``weights_only=True``, so a file cannot run code. :func:`read_tagged_file` reads our dicts tagged
with a ``format`` name.
"""

import pickle
import stat
from pathlib import Path
from typing import Any

import torch

# A file torch.save wrote begins with a zip archive's signature (the default since torch 1.6) or with a
# pickle's protocol opcode (the legacy format); anything else is not a PyTorch file.
_TORCH_SIGNATURES = (b"PK\x03\x04", b"\x80")


def read_torch_file(path: Path, noun: str, error: type[Exception], map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; ``noun`` names the kind of file in messages."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise error(f"{noun} not found: {path}") from None
    except OSError as reason:
        raise error(f"cannot read {noun} {path}: {reason.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe or device)"
        raise error(f"{noun} {path} is {kind}: name a file")
    try:
        with open(path, "rb") as file:
            head = file.read(4)
    except OSError as reason:
        raise error(f"cannot read {noun} {path}: {reason.strerror}") from None
    if not head:
        raise error(f"cannot read {noun} {path}: the file is empty (0 bytes)")
    if not head.startswith(_TORCH_SIGNATURES):
        raise error(f"cannot read {noun} {path}: it is not a PyTorch file (it begins with {head!r})")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as reason:
        if "weights only load failed" in str(reason).lower():
            raise error(
                f"cannot read {noun} {path}: it holds Python objects besides tensors, numbers and text, which "
                f"giraffehd never writes and does not load (loading them could run code)"
            ) from None
        raise error(f"cannot read {noun} {path}: it is damaged ({first_sentence(reason)})") from None
    except Exception as reason:  # a truncated or corrupt archive
        raise error(f"cannot read {noun} {path}: it is damaged ({first_sentence(reason)})") from None


def first_sentence(error: BaseException) -> str:
    """The error's first sentence, whole (a long library message is cut at a sentence, not mid-word)."""
    text = " ".join(str(error).split())
    if not text:
        return type(error).__name__
    end = text.find(". ")
    return text if end < 0 or end > 300 else text[: end + 1]


def read_tagged_file(path: Path, file_format: str, noun: str, how_to_make: str, error: type[Exception]) -> dict:
    """The dict saved in ``path`` whose ``format`` is ``file_format``; ``noun`` names the kind of file in
    messages ("evaluator", "pose encoder") and ``how_to_make`` follows a missing file's message."""
    if not Path(path).exists():
        raise error(f"{noun} not found: {path} ({how_to_make})")
    raw = read_torch_file(path, noun, error)
    if not isinstance(raw, dict) or raw.get("format") != file_format:
        raise error(f"{path} is not a giraffehd {noun} (format {file_format})")
    return raw
