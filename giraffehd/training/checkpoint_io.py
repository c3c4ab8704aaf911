"""Checkpoints written atomically and read without running code.

A checkpoint is first written to a temporary file in the same folder and then renamed over its target,
so a crash or a full disk never leaves a half-written ``last.ckpt`` behind. Loading uses
``torch.load(weights_only=True)``: a checkpoint file can hold tensors, numbers, strings and containers,
nothing that could execute when read.
"""

import pickle
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from giraffehd.atomic import write_atomically


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not one of ours; the message is one line."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written atomically, and only with finite weights: a checkpoint of NaN or Inf weights would
    fail again at once on resume, so the last finite one is kept instead."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        bad = first_nonfinite(checkpoint.get("state_dict") or {})
        if bad is not None:
            raise CheckpointError(
                f"{bad} is not finite (NaN or Inf) at step {checkpoint.get('global_step')}: not saved; "
                f"{_kept(Path(path))}"
            )
        write_atomically(path, lambda file: torch.save(checkpoint, file))

    def load_checkpoint(self, path: str | Path, map_location: Any = None, weights_only: bool | None = True) -> dict:
        return load_checkpoint_file(path, map_location)


def first_nonfinite(state: dict[str, Any]) -> str | None:
    """The name of the first floating-point tensor of ``state`` with a NaN or Inf entry, or None."""
    for name, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
            return name
    return None


def _kept(path: Path) -> str:
    """Which step the checkpoint at ``path`` holds, in words."""
    if not path.is_file():
        return f"no checkpoint was written before it ({path} does not exist)"
    try:
        return f"{path} keeps step {load_checkpoint_file(path)['global_step']}"
    except (CheckpointError, KeyError):
        return f"{path} is kept as it was"


def read_weights_only(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load(weights_only=True)``; a one-line CheckpointError names a missing or unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"cannot read checkpoint {path}: the file is empty (0 bytes)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights only load failed" in str(error).lower():
            raise CheckpointError(
                f"cannot read checkpoint {path}: it holds Python objects besides tensors, numbers and text, which "
                f"giraffehd never writes and does not load (loading them could run code)"
            ) from None
        raise CheckpointError(f"cannot read checkpoint {path}: not a PyTorch file ({_first_sentence(error)})") from None
    except Exception as error:  # corrupt, truncated, or not a PyTorch file at all
        raise CheckpointError(f"cannot read checkpoint {path}: {_first_sentence(error)}") from None


def _first_sentence(error: BaseException) -> str:
    """The error's first sentence, whole (a long library message is cut at a sentence, not mid-word)."""
    text = " ".join(str(error).split())
    if not text:
        return type(error).__name__
    end = text.find(". ")
    return text if end < 0 or end > 300 else text[: end + 1]


def load_checkpoint_file(path: str | Path, map_location: Any = "cpu") -> dict:
    """Read a checkpoint safely; a one-line CheckpointError names the file if it cannot be used."""
    return check_training_checkpoint(read_weights_only(path, map_location), Path(path))


def check_training_checkpoint(checkpoint: Any, path: Path) -> dict:
    """``checkpoint`` as read from ``path``, if it is a giraffehd training checkpoint."""
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a giraffehd training checkpoint (no state_dict)")
    if checkpoint.get("giraffehd_version") is None:
        raise CheckpointError(f"{path} was not written by giraffehd (no giraffehd_version entry)")
    return checkpoint
