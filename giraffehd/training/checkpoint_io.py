"""Checkpoints written atomically and read without running code.

A checkpoint is first written to a temporary file in the same folder and then renamed over its target,
so a crash or a full disk never leaves a half-written ``last.ckpt`` behind. Loading uses
``torch.load(weights_only=True)``: a checkpoint file can hold tensors, numbers, strings and containers,
nothing that could execute when read.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not one of ours; the message is one line."""


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(descriptor, "wb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load_checkpoint(self, path: str | Path, map_location: Any = None, weights_only: bool | None = True) -> dict:
        return load_checkpoint_file(path, map_location)


def load_checkpoint_file(path: str | Path, map_location: Any = "cpu") -> dict:
    """Read a checkpoint safely; a one-line CheckpointError names the file if it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # corrupt, truncated, or holding objects that weights_only refuses
        reason = " ".join(str(error).split())[:200]
        raise CheckpointError(f"cannot read checkpoint {path}: {reason}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a giraffehd training checkpoint (no state_dict)")
    if checkpoint.get("giraffehd_version") is None:
        raise CheckpointError(f"{path} was not written by giraffehd (no giraffehd_version entry)")
    return checkpoint
