"""Reading files that torch saved: training checkpoints, exported models, evaluators, pose encoders.

:func:`read_torch_file` is the one place such a file is opened; :func:`load_checkpoint_file` reads and
checks a training checkpoint, :func:`read_tagged_file` our other files. Every failure is one line in the caller's
error type, naming the file: missing, not a regular file (a named pipe would block the reader forever),
empty, not a PyTorch file at all (text, an image), damaged, or holding Python objects. Files are loaded
with ``weights_only=True``, so a file cannot run code. Training (``giraffehd/training/checkpoint_io.py``,
which writes checkpoints) and every tool read through this module, so it imports neither.
"""

import pickle
from pathlib import Path
from typing import Any

import torch

from giraffehd.inputs import check_input_file

# A file torch.save wrote begins with a zip archive's signature (the default since torch 1.6) or with a
# pickle's protocol opcode (the legacy format); anything else is not a PyTorch file.
_TORCH_SIGNATURES = (b"PK\x03\x04", b"\x80")


def read_torch_file(path: Path, noun: str, error: type[Exception], map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; ``noun`` names the kind of file in messages."""
    path = check_input_file(path, noun, error)
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


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not one of ours; the message is one line."""


def first_nonfinite(state: dict[str, Any]) -> str | None:
    """The name of the first floating-point tensor of ``state`` with a NaN or Inf entry, or None."""
    for name, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
            return name
    return None


def largest_weight(state: dict[str, Any]) -> tuple[str, float]:
    """(name, value) of the largest magnitude among the floating-point tensors of ``state``."""
    found = ("", 0.0)
    for name, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel():
            largest = float(value.detach().abs().max())
            if largest > found[1]:
                found = (name, largest)
    return found


def read_weights_only(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load(weights_only=True)``; a one-line CheckpointError names a missing or unreadable file."""
    return read_torch_file(Path(path), "checkpoint", CheckpointError, map_location)


def load_checkpoint_file(path: str | Path, map_location: Any = "cpu") -> dict:
    """Read a checkpoint safely; a one-line CheckpointError names the file if it cannot be used."""
    return check_training_checkpoint(read_weights_only(path, map_location), Path(path))


def check_training_checkpoint(checkpoint: Any, path: Path) -> dict:
    """``checkpoint`` as read from ``path``, if it is a giraffehd training checkpoint."""
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a giraffehd training checkpoint (no state_dict)")
    if checkpoint.get("giraffehd_version") is None:
        raise CheckpointError(f"{path} was not written by giraffehd (no giraffehd_version entry)")
    state = checkpoint["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is a damaged giraffehd checkpoint: its state_dict is not a mapping of tensors")
    return checkpoint
