"""Keep a weights-only checkpoint every N steps (``checkpoint.keep_every_n_steps``): the history that
scoring a model over training needs (FID per checkpoint), beside the one resumable ``last.ckpt``."""

from pathlib import Path

import lightning


class KeepCheckpoints(lightning.Callback):
    """Writes ``dirpath/step_NNNNNNN.ckpt`` (weights only, atomically through the trainer's checkpoint IO)
    whenever the global step reaches a multiple of ``every_n_steps``."""

    def __init__(self, dirpath: str | Path, every_n_steps: int) -> None:
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be at least 1, got {every_n_steps}")
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        path = self.dirpath / f"step_{step:07d}.ckpt"
        if step > 0 and step % self.every_n_steps == 0 and not path.exists():
            trainer.save_checkpoint(path, weights_only=True)
