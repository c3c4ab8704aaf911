"""A linear ramp of the compositing mask's steepness over training (``training.mask_steepness_ramp``).

A steep mask keeps an object's change inside its silhouette: with steepness k, pixels whose alpha is
below 0.5 - 0.5 / k are the background render's alone. But from the start of training it also hides a
faint object from the image loss (no gradient through the flat part of the clamp), and on the CPU demo
a steep mask from step 0 lost the object (docs/benchmarks.md). The ramp trains at ``start`` until
``from_step``, then raises the steepness linearly to the model's own (``model.compositor.mask_steepness``)
at ``to_step``, which is the value every render after training uses. It is a pure function of the step,
so a resumed run ramps exactly as an uninterrupted one.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SteepnessRamp:
    start: float  # steepness until from_step (at least 1)
    from_step: int  # the ramp starts here
    to_step: int  # the model's own steepness from here on (greater than from_step)

    def __post_init__(self) -> None:
        if not self.start >= 1:
            raise ValueError(f"start must be at least 1 (1: the mask as rendered), got {self.start}")
        if not 0 <= self.from_step < self.to_step:
            raise ValueError(
                f"from_step must be at least 0 and below to_step, got from_step={self.from_step}, "
                f"to_step={self.to_step}"
            )

    def at(self, step: int, final: float) -> float:
        """The steepness to train step ``step`` with, ramping from ``start`` to ``final``."""
        progress = min(max((step - self.from_step) / (self.to_step - self.from_step), 0.0), 1.0)
        return self.start + (final - self.start) * progress
