"""Read a file of ours that torch saved as a dict tagged with a ``format`` name (evaluators, pose encoders).

Every failure is one line in the caller's error type, naming the file: missing (with how to make one),
unreadable, or another kind of file. Loaded with ``weights_only=True``, so a file cannot run code.
"""

from pathlib import Path

import torch


def read_tagged_file(path: Path, file_format: str, noun: str, how_to_make: str, error: type[Exception]) -> dict:
    """The dict saved in ``path`` whose ``format`` is ``file_format``; ``noun`` names the kind of file in
    messages ("evaluator", "pose encoder") and ``how_to_make`` follows a missing file's message."""
    if not path.is_file():
        raise error(f"{noun} not found: {path} ({how_to_make})")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as reason:
        raise error(f"cannot read {noun} {path}: {' '.join(str(reason).split())[:200]}") from None
    if not isinstance(raw, dict) or raw.get("format") != file_format:
        raise error(f"{path} is not a giraffehd {noun} (format {file_format})")
    return raw
