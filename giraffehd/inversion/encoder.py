"""The pose encoder: a small CNN that reads, from an image, the knobs a model would need to draw it.

It is trained on the model's own samples (giraffehd/inversion/encoder_training.py), whose knobs are known,
so no labelled data is needed; inversion starts from its reading. The object's heading (rotation minus
camera azimuth) is read as a distribution over ``heading_bins`` bins of the whole turn, because front and
back views can look alike: the spread says how sure it is. Elevation, translation and the joint scale
are read as values inside the prior's ranges. One object per image.

An encoder file records which model it was trained on (a fingerprint of the generator's weights), so
that it is not used with another model by mistake.
Axis legend: B images, K heading bins.
"""

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor, nn
from torch.nn import functional as F

from giraffehd.model.generator import Generator
from giraffehd.networks.readers import ReaderFile, load_reader, save_reader
from giraffehd.scene import ScenePrior

ENCODER_FORMAT = "giraffehd-pose-encoder-1"
CONFIDENCE_WINDOW_DEG = 45.0  # a reading's confidence: its probability within this of the most likely heading


class EncoderError(ValueError):
    """An encoder file that is missing, not one of ours, or made for another model; one line."""


ENCODER_FILE = ReaderFile(
    ENCODER_FORMAT, "pose encoder", "make one with: giraffehd-train-encoder checkpoint=...", EncoderError
)


@dataclass(frozen=True)
class EncoderOutput:
    heading_logits: Float[Tensor, "B K"]
    elevation: Float[Tensor, " B"]  # (deg - centre) / half range
    translation: Float[Tensor, "B 3"]  # (value - centre) / half range, per axis, object frame of the scene
    scale: Float[Tensor, " B"]  # position in the joint scale range, -1 to 1


@dataclass(frozen=True)
class PoseGuess:
    """What the encoder reads from B images, in scene units."""

    heading_deg: Float[Tensor, " B"]  # most likely heading, refined by the mean over its neighbours
    confidence: Float[Tensor, " B"]  # probability within CONFIDENCE_WINDOW_DEG of heading_deg
    heading_probabilities: Float[Tensor, "B K"]
    elevation_deg: Float[Tensor, " B"]
    translation: Float[Tensor, "B 3"]
    scale_fraction: Float[Tensor, " B"]  # where in each axis' scale range, 0 to 1


def _conv(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1), nn.LeakyReLU(0.2))


def _centre_half(low: float, high: float) -> tuple[float, float]:
    return (low + high) / 2, (high - low) / 2


class PoseEncoder(nn.Module):
    """Five convolution stages from ``resolution`` to 1/16 of it, a hidden layer, then the heads."""

    def __init__(
        self,
        resolution: int,
        elevation_range: tuple[float, float],
        translation_ranges: tuple[tuple[float, float], ...],
        heading_bins: int = 72,
        width: int = 32,
        hidden_dim: int = 256,
        fingerprint: str = "",
    ) -> None:
        super().__init__()
        if resolution < 32 or resolution % 16:
            raise ValueError(f"encoder resolution must be a multiple of 16 from 32, got {resolution}")
        if heading_bins < 4:
            raise ValueError(f"heading_bins must be at least 4, got {heading_bins}")
        self._arguments = {
            "resolution": resolution,
            "elevation_range": [float(v) for v in elevation_range],
            "translation_ranges": [[float(v) for v in r] for r in translation_ranges],
            "heading_bins": heading_bins,
            "width": width,
            "hidden_dim": hidden_dim,
            "fingerprint": fingerprint,
        }
        self.resolution, self.heading_bins, self.fingerprint = resolution, heading_bins, fingerprint
        w = width
        self.body = nn.Sequential(
            _conv(3, w, 1),
            _conv(w, w, 2),
            _conv(w, 2 * w, 2),
            _conv(2 * w, 2 * w, 1),
            _conv(2 * w, 4 * w, 2),
            _conv(4 * w, 4 * w, 2),
            nn.Flatten(),
            nn.Linear(4 * w * (resolution // 16) ** 2, hidden_dim),
            nn.LeakyReLU(0.2),
        )
        self.heads = nn.Linear(hidden_dim, heading_bins + 1 + 3 + 1)
        self.elevation_centre, self.elevation_half = _centre_half(*self._arguments["elevation_range"])
        self.register_buffer(
            "translation_centre", torch.tensor([_centre_half(*r)[0] for r in self._arguments["translation_ranges"]])
        )
        self.register_buffer(
            "translation_half", torch.tensor([_centre_half(*r)[1] for r in self._arguments["translation_ranges"]])
        )

    @classmethod
    def for_model(cls, generator: Generator, prior: ScenePrior, **kwargs: int) -> "PoseEncoder":
        """An untrained encoder for ``generator`` and its prior (input at the model's resolution, at most 64)."""
        resolution = min(generator.image_resolution, 64)
        return cls(
            resolution,
            (prior.elevation_deg.low, prior.elevation_deg.high),
            tuple((r.low, r.high) for r in prior.translation),
            fingerprint=generator_fingerprint(generator),
            **kwargs,
        )

    def arguments(self) -> dict:
        return dict(self._arguments)

    def forward(self, images: Float[Tensor, "B 3 H W"]) -> EncoderOutput:
        """Images in [0, 1], any size (resized by area averaging or bilinearly), to raw head outputs."""
        if images.shape[-2:] != (self.resolution, self.resolution):
            mode = "area" if images.shape[-1] > self.resolution else "bilinear"
            kwargs = {} if mode == "area" else {"align_corners": False}
            images = F.interpolate(images, size=(self.resolution, self.resolution), mode=mode, **kwargs)
        out = self.heads(self.body(images * 2 - 1))
        k = self.heading_bins
        return EncoderOutput(out[:, :k], out[:, k], out[:, k + 1 : k + 4], out[:, k + 4])

    def bin_centres_deg(self) -> Float[Tensor, " K"]:
        return torch.arange(self.heading_bins, dtype=torch.float32) * (360.0 / self.heading_bins)

    @torch.no_grad()
    def read(self, images: Float[Tensor, "B 3 H W"]) -> PoseGuess:
        out = self(images)
        probabilities = out.heading_logits.softmax(dim=1)
        centres = torch.deg2rad(self.bin_centres_deg())
        mode = centres[probabilities.argmax(dim=1)]
        gap = torch.remainder(centres[None] - mode[:, None] + math.pi, 2 * math.pi) - math.pi
        near = (gap.abs() <= math.radians(CONFIDENCE_WINDOW_DEG)).float()
        weights = probabilities * near
        # the circular mean over the mode's neighbourhood reads between bins
        heading = mode + torch.atan2((weights * gap.sin()).sum(1), (weights * gap.cos()).sum(1))
        return PoseGuess(
            heading_deg=torch.remainder(torch.rad2deg(heading), 360.0),
            confidence=weights.sum(dim=1),
            heading_probabilities=probabilities,
            elevation_deg=self.elevation_centre + self.elevation_half * out.elevation.clamp(-1, 1),
            translation=self.translation_centre + self.translation_half * out.translation.clamp(-1, 1),
            scale_fraction=(out.scale.clamp(-1, 1) + 1) / 2,
        )


def generator_fingerprint(generator: Generator) -> str:
    """A short hash of the generator's weights: an encoder is only valid for the model it learned from."""
    digest = hashlib.sha256()
    for key, value in sorted(generator.state_dict().items()):
        digest.update(key.encode())
        # reshape(-1): 0-d tensors (a noise strength) cannot be viewed as bytes; the bytes are the same.
        digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def save_encoder(encoder: PoseEncoder, report: dict, path: str | Path) -> Path:
    """Weights, constructor arguments and the training report, written atomically."""
    return save_reader(encoder, ENCODER_FILE, report, path)


def _build(arguments: dict) -> PoseEncoder:
    arguments["translation_ranges"] = tuple(tuple(r) for r in arguments["translation_ranges"])
    arguments["elevation_range"] = tuple(arguments["elevation_range"])
    return PoseEncoder(**arguments)


def load_encoder(path: str | Path, generator: Generator | None = None) -> tuple[PoseEncoder, dict]:
    """(encoder in eval mode, its training report); with ``generator``, refuses an encoder of another model."""
    encoder, report = load_reader(path, ENCODER_FILE, _build)
    if generator is not None and encoder.fingerprint != generator_fingerprint(generator):
        raise EncoderError(
            f"{path} was trained on another model (fingerprint {encoder.fingerprint}, this model's "
            f"{generator_fingerprint(generator)}): train one for it with giraffehd-train-encoder"
        )
    return encoder, report


def default_encoder_path(model_file: str | Path) -> Path:
    """Where an encoder for the model in ``model_file`` lives unless told otherwise: beside it, ``NAME.encoder.pt``."""
    return Path(model_file).with_suffix(".encoder.pt")
