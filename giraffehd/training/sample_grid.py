"""A callback that renders the EMA generator at fixed seeds every N steps: a PNG grid in the run folder
and, when the logger is TensorBoard, an image there too."""

from pathlib import Path

import lightning
import torch

from giraffehd.media import make_grid, save_image


class SampleGrid(lightning.Callback):
    def __init__(self, output_dir: str, every_n_steps: int = 500, num_samples: int = 16, seed: int = 12345) -> None:
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be at least 1, got {every_n_steps}")
        if num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, got {num_samples}")
        self.output_dir = Path(output_dir)
        self.every_n_steps = every_n_steps
        self.num_samples = num_samples
        self.seed = seed

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step % self.every_n_steps == 0 and trainer.is_global_zero:
            self.write(trainer, module, step)

    def on_train_end(self, trainer, module) -> None:
        if trainer.is_global_zero:
            self.write(trainer, module, trainer.global_step)

    def write(self, trainer, module, step: int) -> Path:
        rng = torch.Generator().manual_seed(self.seed)  # the same scenes at every step: grids compare
        scene = module.prior.sample(self.num_samples, rng)
        images = (module.sample(scene).image.clamp(-1, 1) + 1) / 2
        cols = min(8, self.num_samples)
        rows = -(-self.num_samples // cols)
        padded = torch.cat([images, images.new_ones(rows * cols - len(images), *images.shape[1:])])
        grid = make_grid(padded.reshape(rows, cols, *images.shape[1:]).cpu())
        path = save_image(grid, self.output_dir / f"step_{step:07d}.png")
        experiment = getattr(trainer.logger, "experiment", None)
        if hasattr(experiment, "add_image"):
            experiment.add_image("samples", grid, step)
        return path
