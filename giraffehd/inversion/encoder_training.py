"""Train a pose encoder on a model's own samples: every batch is freshly drawn from the prior and rendered.

The knobs of each sample are known, so the encoder learns what the model draws for each heading,
elevation, translation and scale. Photos differ from samples (colours the model never draws, sharper
edges), so the inputs are augmented: the object repainted, colour channels shuffled, blended towards grey,
brightness and contrast changed, blurred, and noised. Headings are learnt as a distribution over bins against a
target smoothed by a circular Gaussian; the other knobs by squared error, unit-free.
Axis legend: B images, K heading bins.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from giraffehd.inversion.encoder import PoseEncoder, PoseGuess
from giraffehd.model.generator import Generator
from giraffehd.networks.readers import blur_and_noise, fit
from giraffehd.scene import SceneParameters, ScenePrior


@dataclass(frozen=True)
class EncoderTraining:
    steps: int = 3000  # batches, each freshly rendered
    batch_size: int = 48
    lr: float = 1e-3  # Adam; over the last third a cosine takes it down to 2% of this
    heading_sigma_deg: float = 7.5  # width of the smoothed heading target
    seed: int = 0
    check_images: int = 512  # fresh samples (another seed) that the report's errors are read on

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "check_images"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0 or not self.heading_sigma_deg > 0:
            raise ValueError("lr and heading_sigma_deg must be positive")


def repaint(
    images: Float[Tensor, "B 3 H W"], masks: Float[Tensor, "B 1 H W"], colours: Float[Tensor, "B 3"]
) -> Float[Tensor, "B 3 H W"]:
    """Each object's main colour (the median of its masked, coloured pixels: saturation over 0.2, so not
    grey windows, black wheels or the backdrop) moved to ``colours``: pixels near that colour shift with it,
    keeping their shading; other parts and the background stay."""
    b = images.shape[0]
    saturation = images.amax(dim=1, keepdim=True) - images.amin(dim=1, keepdim=True)
    flat, chosen = images.flatten(2), ((masks > 0.5) & (saturation > 0.2)).flatten(2)
    main = torch.stack(
        [flat[i][:, chosen[i, 0]].median(dim=1).values if chosen[i].any() else flat[i, :, 0] for i in range(b)]
    )  # B 3
    distance = (images - main[:, :, None, None]).pow(2).sum(dim=1, keepdim=True)
    near = torch.exp(-distance / (2 * 0.2**2)) * masks * (chosen.reshape(masks.shape).any(dim=(2, 3), keepdim=True))
    return images + near * (colours - main)[:, :, None, None]


def augment(
    images: Float[Tensor, "B 3 H W"], masks: Float[Tensor, "B 1 H W"], rng: torch.Generator
) -> Float[Tensor, "B 3 H W"]:
    """Images in [0, 1] and their foreground masks: half of the objects repainted (their main colour
    moved to a random one, a third of them near white, since a photo's object may wear a colour the model
    never draws), shuffled colour channels (half), up to 70% towards grey (a third), brightness +-15% and
    contrast 80-120%, up to 60% towards a 3x3 blur, noise up to 0.03."""
    b = images.shape[0]
    colours = torch.rand(b, 3, generator=rng)
    light = torch.rand(b, 1, generator=rng) < 1 / 3
    colours = torch.where(light, 0.8 + 0.2 * torch.rand(b, 1, generator=rng).expand(b, 3), colours)
    chosen = (torch.rand(b, 1, 1, 1, generator=rng) < 0.5).float()
    images = images + chosen * (repaint(images, masks, colours) - images)
    orders = torch.stack([torch.randperm(3, generator=rng) for _ in range(b)])
    shuffle = torch.rand(b, generator=rng) < 0.5
    orders[~shuffle] = torch.arange(3)
    images = torch.gather(images, 1, orders[:, :, None, None].expand_as(images))
    grey = images.mean(dim=1, keepdim=True).expand_as(images)
    towards_grey = 0.7 * torch.rand(b, 1, 1, 1, generator=rng) * (torch.rand(b, 1, 1, 1, generator=rng) < 1 / 3)
    images = images + towards_grey * (grey - images)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 0.8 + 0.4 * torch.rand(b, 1, 1, 1, generator=rng)
    brightness = 0.3 * (torch.rand(b, 1, 1, 1, generator=rng) - 0.5)
    images = (images - mean) * contrast + mean + brightness
    return blur_and_noise(images, rng).clamp(0, 1)


def heading_target(headings_deg: Float[Tensor, " B"], num_bins: int, sigma_deg: float) -> Float[Tensor, "B K"]:
    """A circular Gaussian over the bins, centred on each heading, summing to 1."""
    centres = torch.arange(num_bins, dtype=torch.float32) * (360.0 / num_bins)
    gap = torch.remainder(centres[None] - headings_deg[:, None] + 180.0, 360.0) - 180.0
    weights = torch.exp(-0.5 * (gap / sigma_deg) ** 2)
    return weights / weights.sum(dim=1, keepdim=True)


def knobs_of(scene: SceneParameters, prior: ScenePrior) -> dict[str, Tensor]:
    """The encoder's targets for one-object scenes: heading (deg), elevation (deg), translation, scale fraction."""
    scale_low = torch.tensor([r.low for r in prior.scale])
    scale_span = torch.tensor([r.high - r.low for r in prior.scale]).clamp(min=1e-8)
    fraction = ((scene.object_scale[:, 0] - scale_low) / scale_span).mean(dim=-1)
    return {
        "heading_deg": torch.remainder(scene.object_rotation_deg[:, 0] - scene.camera_azimuth_deg, 360.0),
        "elevation_deg": scene.camera_elevation_deg,
        "translation": scene.object_translation[:, 0],
        "scale_fraction": fraction,
    }


def encoder_loss(encoder: PoseEncoder, images: Tensor, knobs: dict[str, Tensor], sigma_deg: float) -> Tensor:
    out = encoder(images)
    target = heading_target(knobs["heading_deg"], encoder.heading_bins, sigma_deg)
    heading = -(target * out.heading_logits.log_softmax(dim=1)).sum(dim=1).mean()
    half = encoder.elevation_half if encoder.elevation_half > 0 else 1.0
    elevation = (out.elevation - (knobs["elevation_deg"] - encoder.elevation_centre) / half).pow(2).mean()
    t_half = torch.where(
        encoder.translation_half > 0, encoder.translation_half, torch.ones_like(encoder.translation_half)
    )
    translation = (out.translation - (knobs["translation"] - encoder.translation_centre) / t_half).pow(2).mean()
    scale = (out.scale - (knobs["scale_fraction"] * 2 - 1)).pow(2).mean()
    return heading + elevation + translation + scale


def guess_errors(guess: PoseGuess, knobs: dict[str, Tensor]) -> dict[str, float]:
    """Mean absolute errors of a reading against known knobs (degrees and scene units)."""
    heading = (torch.remainder(guess.heading_deg - knobs["heading_deg"] + 180.0, 360.0) - 180.0).abs()
    return {
        "heading_mean_deg": float(heading.mean()),
        "heading_median_deg": float(heading.median()),
        "heading_over_90_share": float((heading > 90).float().mean()),
        "elevation_mean_deg": float((guess.elevation_deg - knobs["elevation_deg"]).abs().mean()),
        "translation_mean": float((guess.translation - knobs["translation"]).abs().mean()),
        "confidence_mean": float(guess.confidence.mean()),
    }


def _samples(generator: Generator, prior: ScenePrior, count: int, rng: torch.Generator) -> tuple[Tensor, Tensor, dict]:
    """(images in [0, 1], foreground masks, knobs) of ``count`` fresh samples."""
    scene = prior.sample(count, rng)
    device = next(generator.parameters()).device
    with torch.no_grad():  # rendered where the generator is, in passes of at most 64 scenes (memory)
        outs = [generator(scene.select(slice(i, i + 64)).to(device)) for i in range(0, count, 64)]
    # The encoder is small: it learns on the CPU, whatever renders the samples.
    images = (torch.cat([o.image.cpu() for o in outs]).clamp(-1, 1) + 1) / 2
    return images, torch.cat([o.mask.cpu() for o in outs]), knobs_of(scene, prior)


def train_pose_encoder(
    generator: Generator,
    prior: ScenePrior,
    settings: EncoderTraining = EncoderTraining(),
    progress: Callable[[int, float], object] | None = None,
    start: PoseEncoder | None = None,
) -> tuple[PoseEncoder, dict]:
    """(trained encoder in eval mode, report); ``progress(1, loss)`` after every step.

    With ``start`` (an encoder of another model with the same knobs and input size, e.g. the
    low-resolution model an HD model was grown from) its weights are fine-tuned instead of fresh ones.
    """
    if prior.num_objects != 1:
        raise ValueError(f"the pose encoder reads one object; this model draws {prior.num_objects}")
    torch.manual_seed(settings.seed)  # the encoder's initial weights
    encoder = PoseEncoder.for_model(generator, prior)
    if start is not None:
        mine, theirs = encoder.arguments(), start.arguments()
        different = sorted(k for k in mine if k != "fingerprint" and mine[k] != theirs[k])
        if different:
            raise ValueError(
                "start_from does not fit this model: "
                + "; ".join(f"its {k} is {theirs[k]}, this model needs {mine[k]}" for k in different)
            )
        encoder.load_state_dict(start.state_dict())
    rng = torch.Generator().manual_seed(settings.seed)
    generator.requires_grad_(False)

    def lr_share(step: int) -> float:  # constant for two thirds of the run, then a cosine down to 2%
        share = step / settings.steps
        decay = 1.0 if share < 2 / 3 else 0.5 * (1 + math.cos(math.pi * (share - 2 / 3) * 3))
        return max(decay, 0.02)

    def loss_of(_step: int) -> Tensor:  # a fresh batch of the model's own samples every step
        images, masks, knobs = _samples(generator, prior, settings.batch_size, rng)
        return encoder_loss(encoder, augment(images, masks, rng), knobs, settings.heading_sigma_deg)

    on_step = None if progress is None else (lambda loss: progress(1, loss))
    fit(encoder, range(settings.steps), loss_of, settings.lr, lr_share, on_step)
    check_rng = torch.Generator().manual_seed(settings.seed + 1)
    images, _, knobs = _samples(generator, prior, settings.check_images, check_rng)
    report = {
        "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
        "errors_on_fresh_samples": guess_errors(encoder.read(images), knobs),
    }
    return encoder, report
