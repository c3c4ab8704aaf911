"""The weights and thresholds of the training losses (``training.losses``), checked when built.

The losses themselves are the pure functions of :mod:`giraffehd.losses`; this is the one place their
settings are validated. Defaults are GIRAFFE HD's (see that module's docstring).
"""

from dataclasses import dataclass, fields

from giraffehd.losses import BBOX_PAD, BBOX_WEIGHT, BINARIZATION_WEIGHT, COVERAGE_MIN_RATIO, COVERAGE_WEIGHT


@dataclass(frozen=True)
class LossSettings:
    r1_gamma: float = 10.0  # R1 weight: the penalty is gamma / 2 * |grad|^2
    r1_interval: int = 16  # steps between R1 penalties (lazy regularization); 0 disables R1
    mask_box_weight: float = BBOX_WEIGHT  # mask outside the object's projected box
    mask_box_pad: float = BBOX_PAD  # the box is padded by this fraction of its size
    mask_coverage_weight: float = COVERAGE_WEIGHT
    mask_min_coverage: float = COVERAGE_MIN_RATIO  # share of the object's box the mask should cover at least
    mask_max_coverage: float | None = None  # ceiling on the mask's share of the image; None: no ceiling
    mask_binarization_weight: float = BINARIZATION_WEIGHT
    # Share of its own projected box each present object's own alpha should cover at least (several objects:
    # no slot may draw nothing); None: off. Weighted by mask_coverage_weight.
    mask_object_min_coverage: float | None = None
    # Anchored compositor (a trained low-resolution model inside): squared error between the image,
    # area-averaged to anchor_resolution px, and the anchor's image there; and between the mask,
    # area-averaged to the anchor's resolution, and the 3D alpha there. 0: off; compositors without an
    # anchor ignore them.
    anchor_image_weight: float = 0.0
    anchor_resolution: int = 32
    anchor_mask_weight: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name not in ("mask_max_coverage", "mask_object_min_coverage") and not value >= 0:
                raise ValueError(f"{field.name} must not be negative, got {value}")
        if self.anchor_resolution < 1 or self.anchor_resolution & (self.anchor_resolution - 1):
            raise ValueError(f"anchor_resolution must be a power of two (pixels), got {self.anchor_resolution}")
        if not self.mask_min_coverage <= 1:
            raise ValueError(f"mask_min_coverage must be in [0, 1] (a share of the box), got {self.mask_min_coverage}")
        floor = self.mask_object_min_coverage
        if floor is not None and not 0 < floor <= 1:
            raise ValueError(f"mask_object_min_coverage must be None (off) or in (0, 1], got {floor}")
        ceiling = self.mask_max_coverage
        if ceiling is not None and not 0 < ceiling <= 1:
            raise ValueError(f"mask_max_coverage must be None (no ceiling) or in (0, 1], got {ceiling}")
