"""What the scorecard measures and with how many images: its metrics, seeds, sweep sizes and sample counts."""

from dataclasses import dataclass, field

from giraffehd.evaluation.degradations import Degradation

CONTROL_METRICS = {  # metric name: the knobs it sweeps (knobs.py names)
    "rotation": ("rotation",),
    "elevation": ("elevation",),
    "azimuth": ("azimuth",),
    "translation": ("translation_x", "translation_y", "translation_z"),
}
METRICS = (*CONTROL_METRICS, "background", "mask", "colour", "fid")


@dataclass(frozen=True)
class Protocol:
    """What is measured and how many images; stated in the scorecard."""

    seed: int = 0
    num_seeds: int = 16  # base scenes per sweep: seeds seed, seed + 1, ...
    sweep_steps: int = 24  # knob values per sweep
    num_samples: int = 256  # random scenes for mask IoU, colour and background stability
    batch_size: int = 64
    truncation_psi: float | int = 1.0
    azimuth_if_fixed: tuple[float, float] | None = (-45.0, 45.0)  # swept when the prior fixes the azimuth
    background_mask_threshold: float = 0.5
    metrics: tuple[str, ...] = ("rotation", "elevation", "azimuth", "translation", "background", "mask", "colour")
    degradation: Degradation | None = Degradation()  # the degraded floor's (None: not measured)
    alignment: str = field(
        default="one sign for all seeds, one offset per seed (L1-optimal); elevation: one offset for all seeds",
        init=False,
    )

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"metrics: unknown {unknown}; known: {', '.join(METRICS)}")
        if not self.metrics:
            raise ValueError(f"metrics is empty: name at least one of {', '.join(METRICS)}")
        for name in ("num_seeds", "sweep_steps", "num_samples", "batch_size"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be at least 2, got {getattr(self, name)}")
        if self.azimuth_if_fixed is not None:
            low, high = self.azimuth_if_fixed
            if not low < high:
                raise ValueError(f"azimuth_if_fixed must be [low, high] degrees with low < high, got [{low}, {high}]")
        if not 0 < self.background_mask_threshold < 1:
            raise ValueError(
                f"background_mask_threshold must lie in (0, 1) (a mask value), got {self.background_mask_threshold}"
            )

    def swept_knobs(self) -> tuple[str, ...]:
        """The knobs of the protocol's control metrics, in the scorecard's order."""
        return tuple(knob for metric, knobs in CONTROL_METRICS.items() if metric in self.metrics for knob in knobs)
