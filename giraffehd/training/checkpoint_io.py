"""Lightning's checkpoint plugin: checkpoints written atomically, only of healthy weights, and read without
running code.

A checkpoint is first written to a temporary file in the same folder and then renamed over its target,
so a crash or a full disk never leaves a half-written ``last.ckpt`` behind. Reading is
:func:`giraffehd.torch_files.load_checkpoint_file` (``torch.load(weights_only=True)``: a checkpoint file
can hold tensors, numbers, strings and containers, nothing that could execute when read).
"""

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from giraffehd.atomic import write_atomically
from giraffehd.torch_files import CheckpointError, first_nonfinite, largest_weight, load_checkpoint_file


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


def _kept(path: Path) -> str:
    """Which step the checkpoint at ``path`` holds, in words."""
    if not path.is_file():
        return f"no checkpoint was written before it ({path} does not exist)"
    try:
        return f"{path} keeps step {load_checkpoint_file(path)['global_step']}"
    except (CheckpointError, KeyError):
        return f"{path} is kept as it was"
