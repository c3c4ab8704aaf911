"""Checkpoints written atomically and read without running code.

A checkpoint is first written to a temporary file in the same folder and then renamed over its target,
so a crash or a full disk never leaves a half-written ``last.ckpt`` behind. Loading uses
``torch.load(weights_only=True)``: a checkpoint file can hold tensors, numbers, strings and containers,
nothing that could execute when read.
"""

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from giraffehd.atomic import write_atomically
from giraffehd.tagged_file import read_torch_file


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not one of ours; the message is one line."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written atomically, and only of healthy weights: finite, and none larger in magnitude
    than ``max_abs_weight`` (None: no limit). A run that diverges first grows its weights by orders of
    magnitude while they are still finite; a checkpoint of them would diverge again at once on resume,
    whatever the learning rate, so the last healthy one is kept instead and training stops, naming it."""

    def __init__(self, max_abs_weight: float | None = None) -> None:
        super().__init__()
        if max_abs_weight is not None and not max_abs_weight > 0:
            raise ValueError(f"checkpoint.max_abs_weight must be positive or null, got {max_abs_weight}")
        self.max_abs_weight = max_abs_weight

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        state, step = checkpoint.get("state_dict") or {}, checkpoint.get("global_step")
        bad = first_nonfinite(state)
        if bad is not None:
            raise CheckpointError(f"{bad} is not finite (NaN or Inf) at step {step}: not saved; {_kept(Path(path))}")
        if self.max_abs_weight is not None:
            name, largest = largest_weight(state)
            if largest > self.max_abs_weight:
                raise CheckpointError(
                    f"training diverged: {name} reaches {largest:.3g} at step {step}, over "
                    f"checkpoint.max_abs_weight={self.max_abs_weight:g}: not saved; {_kept(Path(path))} (resume "
                    f"from it with lower learning rates, e.g. optimizer.generator.lr and optimizer.discriminator.lr)"
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


def largest_weight(state: dict[str, Any]) -> tuple[str, float]:
    """(name, value) of the largest magnitude among the floating-point tensors of ``state``."""
    found = ("", 0.0)
    for name, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel():
            largest = float(value.detach().abs().max())
            if largest > found[1]:
                found = (name, largest)
    return found


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
