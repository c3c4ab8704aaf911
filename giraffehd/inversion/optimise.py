"""Invert one image: the scene parameters whose render matches it, by gradient descent from several starts.

The free parameters are the camera's elevation and azimuth, the object's rotation, translation and scale
(each kept inside the model's training prior, widened a little, through a sigmoid), and the four latent
codes (object shape and appearance, background shape and appearance), pulled towards the prior's typical
set by a small penalty on their length. The camera's radius and field of view stay at the prior's middle.

A search runs ``starts`` copies at once, each from a different object rotation (k * 360 / starts degrees:
an orientation is the hardest thing to find by descent), then the ``finalists`` copies with the lowest
loss are refined and the best of them is kept. The loss is the mean squared pixel error; PSNR is
reported from it. Seeded: the same image and settings give the same result.

A model grown from a lower-resolution one (the anchored layout: GIRAFFE HD's upsamplers over a frozen
64 px model) shares that model's knobs, and renders at 256 px cost many times more than at 64: the search
and refinement run on the 64 px model against the image downsampled to it, and ``full_resolution_steps``
then fit the codes to the full-resolution render.

With a pose encoder's reading (giraffehd/inversion/encoder.py), every start begins at its elevation,
translation and scale. A confident reading (at least ``encoder_trust`` of its heading probability within
45 degrees) places the starts within ``encoder_window_deg`` of its heading: the pixel loss alone can prefer
a car turned front to back when the model cannot match the photo's colours, where the encoder, trained to
read the model's own samples, tells front from back. The search then stays there: the heading is kept
within ``encoder_window_deg`` of the reading and the elevation within ``encoder_elevation_window_deg``
(where the model cannot match the photo's colours, descent otherwise drifts to a pose that fits them
better). A less confident reading is one more start among those spread over the whole turn.
Axis legend: K starts, Z code dimensions.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from torch.nn import functional as F

from giraffehd.inversion.encoder import PoseGuess
from giraffehd.model.anchored_compositor import base_generator
from giraffehd.model.generator import Generator
from giraffehd.scene import Range, SceneParameters, ScenePrior

MARGIN_DEG = 5.0  # angles may leave the prior's range by this much (a real photo is not drawn from it)


@dataclass(frozen=True)
class InversionSettings:
    starts: int = 8  # starting object rotations, spread over a whole turn
    search_steps: int = 80  # steps of the search, every start at once
    refine_steps: int = 180  # further steps of the best starts
    finalists: int = 2  # the best starts facing different ways (over 90 degrees apart) that are refined
    lr: float = 0.05  # Adam's step size on the unconstrained parameters
    code_penalty: float = 1e-3  # weight of mean(z^2 - 1)^2-style pull towards typical codes
    seed: int = 0  # the starting codes (drawn near the origin)
    encoder_trust: float = 0.9  # a reading at least this confident confines the search near it
    encoder_window_deg: float = 30.0  # ... the heading to within this of its heading
    encoder_elevation_window_deg: float = 5.0  # ... and the elevation to within this of its elevation
    # A model grown from a lower-resolution one (the anchored layout) is searched and refined on that one,
    # then refined on itself for these steps at this step size.
    full_resolution_steps: int = 40
    full_resolution_lr: float = 0.01

    def __post_init__(self) -> None:
        for name in ("starts", "search_steps", "finalists"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.refine_steps < 0 or self.full_resolution_steps < 0 or self.code_penalty < 0:
            raise ValueError("refine_steps, full_resolution_steps and code_penalty must not be negative")
        if not self.lr > 0 or not self.full_resolution_lr > 0:
            raise ValueError(f"lr and full_resolution_lr must be positive, got {self.lr} and {self.full_resolution_lr}")
        if not 0 <= self.encoder_trust <= 1 or not 0 < self.encoder_window_deg <= 180:
            raise ValueError(
                f"encoder_trust must lie in [0, 1] and encoder_window_deg in (0, 180] degrees, got "
                f"{self.encoder_trust} and {self.encoder_window_deg}"
            )
        if not self.encoder_elevation_window_deg >= 0:
            raise ValueError(
                f"encoder_elevation_window_deg must not be negative, got {self.encoder_elevation_window_deg}"
            )


@dataclass(frozen=True)
class Inversion:
    scene: SceneParameters  # the recovered scene (a batch of one)
    image: Float[Tensor, "3 H W"]  # its render, in [0, 1]
    mask: Float[Tensor, "1 H W"]  # its foreground mask
    mse: float
    psnr_db: float
    start_losses: list[float]  # the search's final loss per start


def _bounded(values: Tensor, low: float, high: float) -> Tensor:
    return low + (high - low) * torch.sigmoid(values)


def _unbounded(value: float, low: float, high: float) -> float:
    if high <= low:
        return 0.0
    share = min(max((value - low) / (high - low), 1e-3), 1 - 1e-3)
    return math.log(share / (1 - share))


class _Parameters(torch.nn.Module):
    """The free parameters of K scenes, and the scenes they make."""

    def __init__(self, prior: ScenePrior, starts: int, rng: torch.Generator) -> None:
        super().__init__()
        self.prior = prior
        k, n, z = starts, prior.num_objects, prior.z_dim
        self.ranges = {
            "elevation": _widen(prior.elevation_deg, MARGIN_DEG),
            "azimuth": _widen(prior.azimuth_deg, MARGIN_DEG),
            "translation": [_widen(r, 0.0) for r in prior.translation],
            "scale": [_widen(r, 0.0) for r in prior.scale],
        }
        mid = {
            name: (r.low + r.high) / 2
            for name, r in (("elevation", prior.elevation_deg), ("azimuth", prior.azimuth_deg))
        }
        self.elevation = torch.nn.Parameter(torch.full((k,), _unbounded(mid["elevation"], *self.ranges["elevation"])))
        self.azimuth = torch.nn.Parameter(torch.full((k,), _unbounded(mid["azimuth"], *self.ranges["azimuth"])))
        self.rotation = torch.nn.Parameter(
            (torch.arange(k, dtype=torch.float32) * (2 * math.pi / k))[:, None].repeat(1, n)
        )  # radians; with rotation_range, the unbounded value of a bounded angle
        self.rotation_range: tuple[float, float] | None = None  # radians, set by a sure encoder reading
        self.translation = torch.nn.Parameter(torch.zeros(k, n, 3))
        self.scale = torch.nn.Parameter(torch.zeros(k, n, 3))
        small = 0.1
        self.object_shape = torch.nn.Parameter(small * torch.randn(1, n, z, generator=rng).repeat(k, 1, 1))
        self.object_appearance = torch.nn.Parameter(small * torch.randn(1, n, z, generator=rng).repeat(k, 1, 1))
        self.background_shape = torch.nn.Parameter(small * torch.randn(1, z, generator=rng).repeat(k, 1))
        self.background_appearance = torch.nn.Parameter(small * torch.randn(1, z, generator=rng).repeat(k, 1))

    def scenes(self) -> SceneParameters:
        prior, k = self.prior, self.elevation.shape[0]
        t = torch.stack([_bounded(self.translation[..., i], *self.ranges["translation"][i]) for i in range(3)], -1)
        if prior.joint_scale:  # one size factor for all axes, as the prior draws it
            joint = self.scale.mean(dim=-1)
            s = torch.stack([_bounded(joint, *r) for r in self.ranges["scale"]], -1)
        else:
            s = torch.stack([_bounded(self.scale[..., i], *self.ranges["scale"][i]) for i in range(3)], -1)
        return SceneParameters(
            object_shape=self.object_shape,
            object_appearance=self.object_appearance,
            background_shape=self.background_shape,
            background_appearance=self.background_appearance,
            camera_azimuth_deg=_bounded(self.azimuth, *self.ranges["azimuth"]),
            camera_elevation_deg=_bounded(self.elevation, *self.ranges["elevation"]),
            camera_radius=torch.full((k,), (prior.radius.low + prior.radius.high) / 2),
            camera_fov_deg=torch.full((k,), (prior.fov_deg.low + prior.fov_deg.high) / 2),
            object_rotation_deg=torch.rad2deg(
                self.rotation if self.rotation_range is None else _bounded(self.rotation, *self.rotation_range)
            ),
            object_translation=t,
            object_scale=s,
            object_present=torch.ones(k, prior.num_objects, dtype=torch.bool),
        )

    def begin_at(self, guess: PoseGuess, settings: InversionSettings) -> None:
        """Start every copy at the reading's elevation, translation and scale; headings (and, for a sure
        reading, the bounds of heading and elevation) as the module says."""
        k, prior = self.elevation.shape[0], self.prior
        elevation = float(guess.elevation_deg[0])
        sure = float(guess.confidence[0]) >= settings.encoder_trust
        if sure:
            low, high = self.ranges["elevation"]
            window = settings.encoder_elevation_window_deg
            self.ranges["elevation"] = (max(low, elevation - window), min(high, elevation + window))
        with torch.no_grad():
            self.elevation.fill_(_unbounded(elevation, *self.ranges["elevation"]))
            for i in range(3):
                self.translation[..., i] = _unbounded(float(guess.translation[0, i]), *self.ranges["translation"][i])
            fraction = float(guess.scale_fraction[0])
            if prior.joint_scale:  # the mean of the three is the joint size's unbounded value
                self.scale.fill_(_unbounded(fraction, 0.0, 1.0))
            else:
                for i, r in enumerate(prior.scale):
                    self.scale[..., i] = _unbounded(r.low + fraction * (r.high - r.low), *self.ranges["scale"][i])
            azimuth = float(_bounded(self.azimuth[:1], *self.ranges["azimuth"])[0])
            heading = math.radians(float(guess.heading_deg[0]) + azimuth)
            # Bounded is the object's rotation about the heading read at the starting azimuth: where the
            # prior fixes the camera's azimuth (as for the cars), that is the heading itself.
            if sure:  # starts over the middle three quarters of the window, bounded by it
                window = math.radians(settings.encoder_window_deg)
                self.rotation_range = (heading - window, heading + window)
                shares = torch.linspace(0.125, 0.875, k) if k > 1 else torch.full((1,), 0.5)
                self.rotation.copy_(torch.logit(shares)[:, None].expand_as(self.rotation))
            else:
                self.rotation[0] = heading

    def codes(self) -> list[Tensor]:
        return [self.object_shape, self.object_appearance, self.background_shape, self.background_appearance]

    def keep(self, indices: list[int]) -> None:
        """Keep the starts ``indices`` alone, in that order."""
        for name, value in list(self.named_parameters()):
            setattr(self, name, torch.nn.Parameter(value.detach()[indices].clone()))


def _widen(r: Range, margin: float) -> tuple[float, float]:
    return (float(r.low) - margin, float(r.high) + margin) if r.high > r.low else (float(r.low), float(r.low))


def inversion_steps(generator: Generator, settings: InversionSettings) -> int:
    """How many steps :func:`invert` takes (its ``progress`` total)."""
    full = settings.full_resolution_steps if base_generator(generator) is not None else 0
    return settings.search_steps + settings.refine_steps + full


def invert(
    generator: Generator,
    prior: ScenePrior,
    target: Float[Tensor, "3 H W"],
    settings: InversionSettings = InversionSettings(),
    progress: Callable[[int], object] | None = None,
    guess: PoseGuess | None = None,
) -> Inversion:
    """Invert ``target`` (in [0, 1], at the generator's resolution); ``progress(1)`` after every step.

    ``guess``: a pose encoder's reading of ``target`` (a batch of one), or None to search without one."""
    size = generator.image_resolution
    if tuple(target.shape) != (3, size, size):
        raise ValueError(f"the image must be 3 x {size} x {size} (the model's resolution), got {tuple(target.shape)}")
    rng = torch.Generator().manual_seed(settings.seed)
    params = _Parameters(prior, settings.starts, rng)
    if guess is not None:
        params.begin_at(guess, settings)
    goal = target[None].float()
    base = base_generator(generator)
    search, search_goal = generator, goal
    if base is not None:
        search, search_goal = base, F.interpolate(goal, size=base.image_resolution, mode="area")

    def losses(model: Generator, model_goal: Tensor) -> tuple[Tensor, Tensor]:
        out = model(params.scenes())
        image = (out.image.clamp(-1, 1) + 1) / 2
        per_start = ((image - model_goal) ** 2).mean(dim=(1, 2, 3))
        penalty = sum(((c**2).mean(dim=-1) - 1).pow(2).reshape(c.shape[0], -1).mean(dim=1) for c in params.codes())
        return per_start, per_start + settings.code_penalty * penalty

    def descend(steps: int, model: Generator = search, model_goal: Tensor = search_goal, lr: float = settings.lr):
        optimiser = torch.optim.Adam(params.parameters(), lr=lr)
        per_start = None
        for _ in range(steps):
            per_start, total = losses(model, model_goal)
            optimiser.zero_grad(set_to_none=True)
            total.sum().backward()
            optimiser.step()
            if progress is not None:
                progress(1)
        return per_start.detach()

    generator.requires_grad_(False)
    searched = descend(settings.search_steps)
    # An object seen from the front and from the back can fit about equally well early on: the finalists
    # are the best starts that face different ways (more than 90 degrees apart), best first.
    with torch.no_grad():
        rotations = torch.deg2rad(params.scenes().object_rotation_deg[:, 0])
    finalists: list[int] = []
    for index in searched.argsort().tolist():
        apart = all(
            abs(math.remainder(float(rotations[index] - rotations[j]), 2 * math.pi)) > math.pi / 2 for j in finalists
        )
        if apart and len(finalists) < settings.finalists:
            finalists.append(index)
    params.keep(finalists)
    final = descend(settings.refine_steps) if settings.refine_steps else searched[finalists]
    params.keep([int(final.argmin())])
    if base is not None and settings.full_resolution_steps:
        descend(settings.full_resolution_steps, generator, goal, settings.full_resolution_lr)
    with torch.no_grad():
        scene = params.scenes()
        out = generator(scene)
        image = ((out.image.clamp(-1, 1) + 1) / 2)[0]
        mse = float(((image - target) ** 2).mean())
    scene = SceneParameters(**{f: getattr(scene, f).detach() for f in scene.__dataclass_fields__})
    return Inversion(scene, image, out.mask[0], mse, -10 * math.log10(max(mse, 1e-12)), searched.tolist())
