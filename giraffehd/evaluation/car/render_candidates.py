"""The candidates render-and-match (render_match.py) compares an image with: the synthetic dataset's object,
ray traced at the origin over a grid of headings and camera elevations, once with a black and once with a
white body, at a few blur levels.

The renderer is linear in the body colour (a pixel averages ``colour * shade`` over the body and fixed
colours elsewhere: backdrop, glass, lamps, tyres), so every render of a candidate is ``fixed + body *
colour`` per channel, whatever the colour. The set depends only on its :class:`CandidateSpec`, so it can
be kept on disk and reused. Axis legend: L blur levels, H headings, E elevations, P pixels per side.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm import tqdm

from giraffehd.atomic import write_atomically
from giraffehd.data.synthetic.renderer import Lighting, render_synthetic
from giraffehd.data.synthetic.shapes import SHAPES
from giraffehd.evaluation.degradations import gaussian_blur
from giraffehd.evaluation.labels import SyntheticDataset
from giraffehd.evaluation.sources import dataset_lighting
from giraffehd.scene import SceneParameters

CANDIDATES_FORMAT = "giraffehd-render-match-candidates-1"


class RenderMatchError(ValueError):
    """Settings or inputs render-and-match cannot use; the message is one line."""


@dataclass(frozen=True)
class CandidateSpec:
    """What to render: the object and camera (from the dataset) and the grid."""

    class_name: str
    scale: tuple[float, float, float]  # the object's half sizes, scene units
    radius: float  # camera distance from the origin
    fov_deg: float
    lighting: Lighting = Lighting()
    heading_step_deg: float = 5.0  # over the full turn
    elevation_range_deg: tuple[float, float] = (5.0, 35.0)  # both ends included
    elevation_step_deg: float = 2.5
    resolution: int = 32
    supersampling: int = 2  # the dataset renderer's edge antialiasing
    blur_sigmas_px: tuple[float, ...] = (0.0, 0.75, 1.5)  # blur levels (pixels at ``resolution``)

    def __post_init__(self) -> None:
        low, high = self.elevation_range_deg
        if self.class_name not in SHAPES:
            raise RenderMatchError(f"unknown synthetic class {self.class_name!r}; known: {', '.join(SHAPES)}")
        turns = 360 / self.heading_step_deg if self.heading_step_deg > 0 else 0.5
        if not 0 < self.heading_step_deg <= 90 or abs(turns - round(turns)) > 1e-6:
            raise RenderMatchError(f"heading step must divide 360 and lie in (0, 90], got {self.heading_step_deg}")
        if self.elevation_step_deg <= 0 or not -90 <= low <= high <= 90:
            raise RenderMatchError(
                f"elevations need a step above 0 and a range within [-90, 90], got {list(self.elevation_range_deg)} "
                f"every {self.elevation_step_deg}"
            )
        if self.resolution < 8 or not self.blur_sigmas_px or min(self.blur_sigmas_px) < 0:
            raise RenderMatchError(
                f"candidates need a resolution of at least 8 and blur levels of at least 0, got {self.resolution} "
                f"and {list(self.blur_sigmas_px)}"
            )

    def grid(self) -> tuple[Float[Tensor, " H"], Float[Tensor, " E"]]:
        """Headings every step from 0; elevations evenly spaced from low to high, both included."""
        low, high = (float(v) for v in self.elevation_range_deg)
        num_elevations = max(1, round((high - low) / self.elevation_step_deg) + 1)
        headings = torch.arange(round(360 / self.heading_step_deg)) * float(self.heading_step_deg)
        return headings, torch.linspace(low, high, num_elevations)

    def key(self) -> str:
        """A short digest of every setting: the name of the set on disk."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Candidates:
    """Renders of one object over a grid, object at the origin, camera at azimuth 0, in [0, 1]."""

    spec: CandidateSpec
    headings_deg: Float[Tensor, " H"]
    elevations_deg: Float[Tensor, " E"]
    fixed: Float[Tensor, "L H E 3 P P"]  # rendered with a black body: backdrop and fixed-colour parts
    body: Float[Tensor, "L H E P P"]  # the body's shading: the white-body render minus the black-body one

    @property
    def resolution(self) -> int:
        return self.fixed.shape[-1]

    def at_level(self, level: int) -> tuple[Float[Tensor, "H E 3 P P"], Float[Tensor, "H E P P"]]:
        """The fixed part and the body's shading at one blur level."""
        return self.fixed[level], self.body[level]

    def describe(self) -> str:
        s = self.spec
        low, high = s.elevation_range_deg
        return (
            f"{len(self.headings_deg)} headings every {s.heading_step_deg:g} deg x {len(self.elevations_deg)} "
            f"elevations {low:g} to {high:g} deg, at {s.resolution} px"
        )


def dataset_candidate_spec(
    dataset: SyntheticDataset,
    heading_step_deg: float = 5.0,
    elevation_step_deg: float = 2.5,
    elevation_margin_deg: float = 5.0,
    resolution: int = 32,
) -> CandidateSpec:
    """The candidates for a synthetic dataset: its one class at its fixed size, camera and lighting, at
    elevations over its range widened by ``elevation_margin_deg`` each side (a generator may stray)."""
    prior = dataset.prior
    fixed = {
        "one class": len(dataset.classes) == 1,
        "a fixed object scale": all(r.low == r.high for r in prior.scale),
        "a fixed camera radius": prior.radius.low == prior.radius.high,
        "a fixed field of view": prior.fov_deg.low == prior.fov_deg.high,
    }
    missing = [name for name, ok in fixed.items() if not ok]
    if missing:
        raise RenderMatchError(f"render-and-match needs a dataset with {' and '.join(missing)}; {dataset.root} differs")
    low = max(-90.0, prior.elevation_deg.low - elevation_margin_deg)
    high = min(90.0, prior.elevation_deg.high + elevation_margin_deg)
    return CandidateSpec(
        class_name=dataset.classes[0],
        scale=tuple(r.low for r in prior.scale),
        radius=prior.radius.low,
        fov_deg=prior.fov_deg.low,
        lighting=dataset_lighting(dataset),
        heading_step_deg=heading_step_deg,
        elevation_range_deg=(low, high),
        elevation_step_deg=elevation_step_deg,
        resolution=resolution,
    )


def candidate_scenes(
    spec: CandidateSpec, heading: Float[Tensor, " B"], elevation: Float[Tensor, " B"]
) -> SceneParameters:
    """The object at the origin turned to ``heading``, seen from azimuth 0 and ``elevation``."""
    b = heading.shape[0]
    return SceneParameters(
        object_shape=torch.zeros(b, 1, 1),
        object_appearance=torch.zeros(b, 1, 1),
        background_shape=torch.zeros(b, 1),
        background_appearance=torch.zeros(b, 1),
        camera_azimuth_deg=torch.zeros(b),
        camera_elevation_deg=elevation,
        camera_radius=torch.full((b,), float(spec.radius)),
        camera_fov_deg=torch.full((b,), float(spec.fov_deg)),
        object_rotation_deg=heading[:, None],
        object_translation=torch.zeros(b, 1, 3),
        object_scale=torch.tensor([float(s) for s in spec.scale]).expand(b, 1, 3).clone(),
        object_present=torch.ones(b, 1, dtype=torch.bool),
    )


def render_candidates(spec: CandidateSpec, batch_size: int = 64, progress: bool = False) -> Candidates:
    """Render the grid of ``spec`` with a black and a white body, then blur it to each level."""
    headings, elevations = spec.grid()
    h, e, res = len(headings), len(elevations), spec.resolution
    heading, elevation = headings.repeat_interleave(e), elevations.repeat(h)
    images = {}
    bar = tqdm(total=2 * h * e, desc="render-and-match candidates", unit="render", disable=not progress, leave=False)
    for value in (0.0, 1.0):
        parts = []
        for start in range(0, h * e, batch_size):
            scene = candidate_scenes(spec, heading[start : start + batch_size], elevation[start : start + batch_size])
            colour = torch.full((scene.batch_size, 1, 3), value)
            classes = torch.zeros(scene.batch_size, 1, dtype=torch.long)
            out = render_synthetic(scene, classes, colour, [spec.class_name], res, spec.lighting, spec.supersampling)
            parts.append(out.image)
            bar.update(scene.batch_size)
        images[value] = torch.cat(parts)
    bar.close()
    sharp = torch.cat([images[0.0], (images[1.0] - images[0.0]).mean(dim=1, keepdim=True)], dim=1)  # (HE, 4, P, P)
    levels = torch.stack([gaussian_blur(sharp, sigma) for sigma in spec.blur_sigmas_px])
    levels = levels.reshape(len(spec.blur_sigmas_px), h, e, 4, res, res)
    return Candidates(spec, headings, elevations, levels[:, :, :, :3].contiguous(), levels[:, :, :, 3].contiguous())


def cached_candidates(spec: CandidateSpec, cache_dir: str | Path | None, progress: bool = False) -> Candidates:
    """The candidates of ``spec``: read from ``cache_dir`` when an earlier run left them there, else
    rendered (and written there, when a folder is given). The file is named after the spec's digest."""
    if cache_dir is None:
        return render_candidates(spec, progress=progress)
    path = Path(cache_dir) / f"candidates_{spec.key()}.pt"
    if path.is_file():
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise RenderMatchError(f"cannot read {path}: {' '.join(str(error).split())[:200]} (delete it)") from None
        if raw.get("format") == CANDIDATES_FORMAT and raw.get("key") == spec.key():
            headings, elevations = spec.grid()
            return Candidates(spec, headings, elevations, raw["fixed"].float(), raw["body"].float())
    candidates = render_candidates(spec, progress=progress)
    payload = {"format": CANDIDATES_FORMAT, "key": spec.key(), "fixed": candidates.fixed, "body": candidates.body}
    write_atomically(path, lambda file: torch.save(payload, file))
    return candidates
