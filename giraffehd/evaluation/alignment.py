"""Control errors after the best offset and sign: pure functions of a knob sweep and its reading.

A sweep is S seeds (base scenes) by K knob values. A model's canonical orientation (and any constant
bias of the reader on a given scene) is arbitrary, so before measuring, the reading is aligned to the
knob: one sign for all seeds (the one with the lower mean error) and one offset per seed (its exact
L1-optimal value: the circular median of the residuals for angles, the median per axis for lengths).
The error with a single offset for all seeds is reported beside it. Axis legend: S seeds, K knob
values, D axes of a vector knob.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

FAR_OFF_DEG = 30.0  # an angular reading this far off is a wrong pose, not an imprecise one


@dataclass(frozen=True)
class ControlError:
    """Absolute errors after alignment: per-seed offset (mean, median), and one global offset (mean)."""

    mean: float
    median: float
    sign: int  # +1: the reading follows the knob; -1: it runs against it
    mean_global_offset: float
    num_images: int
    # Angles: the share of images more than FAR_OFF_DEG off after the per-seed offset (a car turned front
    # to back shows here, where a mean hides a few such frames among many good ones); None for lengths.
    share_far_off: float | None = None

    def as_dict(self) -> dict:
        return {
            "mean": self.mean,
            "median": self.median,
            "sign": self.sign,
            "mean_global_offset": self.mean_global_offset,
            "num_images": self.num_images,
            "share_far_off": self.share_far_off,
        }


def wrap_degrees(x: Tensor) -> Tensor:
    """Angles wrapped to [-180, 180)."""
    return torch.remainder(x + 180.0, 360.0) - 180.0


def circular_offset(residuals: Float[Tensor, "G M"]) -> Float[Tensor, " G"]:
    """Per group, the offset o minimising sum |wrap(r - o)|; the optimum lies at one of the residuals."""
    costs = wrap_degrees(residuals[:, :, None] - residuals[:, None, :]).abs().sum(dim=1)  # (G, candidate)
    return residuals.gather(1, costs.argmin(dim=1, keepdim=True))[:, 0]


def _summary(per_seed: Tensor, global_errors: Tensor, sign: int, angular: bool = False) -> ControlError:
    return ControlError(
        mean=per_seed.mean().item(),
        median=per_seed.median().item(),
        sign=sign,
        mean_global_offset=global_errors.mean().item(),
        num_images=per_seed.numel(),
        share_far_off=(per_seed > FAR_OFF_DEG).float().mean().item() if angular else None,
    )


def angular_control_error(knob_deg: Float[Tensor, "S K"], read_deg: Float[Tensor, "S K"]) -> ControlError:
    """Absolute angular error (degrees) of a reading against an angular knob, after best sign and offsets."""
    best = None
    for sign in (1, -1):
        residuals = wrap_degrees(read_deg - sign * knob_deg)
        per_seed = wrap_degrees(residuals - circular_offset(residuals)[:, None]).abs()
        pooled = residuals.reshape(1, -1)
        global_errors = wrap_degrees(pooled - circular_offset(pooled)[:, None]).abs()
        if best is None or per_seed.mean() < best[0].mean():
            best = (per_seed, global_errors, sign)
    return _summary(*best, angular=True)


def linear_control_error(knob: Float[Tensor, "S K D"], read: Float[Tensor, "S K D"]) -> ControlError:
    """Euclidean error (the knob's units) of a reading against a vector knob, after best sign and offsets."""
    best = None
    for sign in (1, -1):
        residuals = read - sign * knob
        per_seed = (residuals - residuals.median(dim=1, keepdim=True).values).norm(dim=-1)
        pooled = residuals.reshape(-1, residuals.shape[-1])
        global_errors = (pooled - pooled.median(dim=0, keepdim=True).values).norm(dim=-1)
        if best is None or per_seed.mean() < best[0].mean():
            best = (per_seed, global_errors, sign)
    return _summary(*best)
