"""The evaluator: a small CNN that reads an image's pose, class, colour and foreground mask.

It is trained on a synthetic dataset's ground truth (giraffehd/evaluation/car/evaluator_training.py) and
then reads generated images, so that a generator's knobs can be checked against what its images show.
Targets are those of :mod:`giraffehd.evaluation.labels`: the object's heading relative to the camera,
the camera's elevation and azimuth, the object's translation in the camera's ground frame, its class
and colour, and the foreground mask. Images of any size are resized to the evaluator's resolution.

Axis legend: B images, C channels, H W pixels, K classes, P palette colours.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn
from torch.nn import functional as F

from giraffehd.networks.readers import ReaderFile, load_reader, save_reader

EVALUATOR_FORMAT = "giraffehd-evaluator-1"


class EvaluatorError(ValueError):
    """An evaluator file that is missing or not one of ours; the message is one line."""


EVALUATOR_FILE = ReaderFile(
    EVALUATOR_FORMAT, "evaluator", "train one with: giraffehd-eval train_evaluator=true", EvaluatorError
)


@dataclass(frozen=True)
class EvaluatorOutput:
    """Raw head outputs: unit-free regression values and logits (what the training loss reads)."""

    heading: Float[Tensor, "B 2"]  # (cos, sin), not normalized
    elevation: Float[Tensor, " B"]  # (deg - centre) / half range
    azimuth: Float[Tensor, "B 2"]  # (cos, sin), not normalized
    translation: Float[Tensor, "B 3"]  # (value - centre) / half range, per axis
    class_logits: Float[Tensor, "B K"]
    colour_logits: Float[Tensor, "B P"]
    mask_logits: Float[Tensor, "B 1 H W"]


@dataclass(frozen=True)
class Reading:
    """What the evaluator reads from B images, in the units of the scene parameters."""

    heading_deg: Float[Tensor, " B"]  # object rotation minus camera azimuth, in (-180, 180]
    elevation_deg: Float[Tensor, " B"]
    azimuth_deg: Float[Tensor, " B"]
    translation: Float[Tensor, "B 3"]  # camera ground frame, scene units
    class_index: Int[Tensor, " B"]
    colour_index: Int[Tensor, " B"]
    mask: Float[Tensor, "B 1 H W"]  # foreground probability at the evaluator's resolution


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1), nn.LeakyReLU(0.2))


class Evaluator(nn.Module):
    """Encoder at 1, 1/2, 1/4, 1/8 of the resolution; pose and class heads on the flattened last stage;
    a mask head that sums the first three stages (upsampled) and predicts per pixel."""

    def __init__(
        self,
        resolution: int,
        class_names: Sequence[str],
        colour_names: Sequence[str],
        elevation_range: Sequence[float | int],
        translation_ranges: Sequence[Sequence[float | int]],
        channels: Sequence[int] = (16, 32, 64, 128),
        hidden_dim: int = 128,
    ) -> None:
        super().__init__()
        if resolution < 16 or resolution % 8:
            raise ValueError(f"evaluator resolution must be a multiple of 8 from 16, got {resolution}")
        if len(channels) != 4:
            raise ValueError(f"evaluator channels must list 4 stage widths, got {list(channels)}")
        self.resolution = resolution
        self._arguments = {
            "resolution": resolution,
            "class_names": list(class_names),
            "colour_names": list(colour_names),
            "elevation_range": [float(v) for v in elevation_range],
            "translation_ranges": [[float(v) for v in r] for r in translation_ranges],
            "channels": [int(c) for c in channels],
            "hidden_dim": hidden_dim,
        }
        self.class_names, self.colour_names = list(class_names), list(colour_names)
        c0, c1, c2, c3 = channels
        self.stem = _conv(3, c0)
        self.down1 = nn.Sequential(_conv(c0, c1, 2), _conv(c1, c1))
        self.down2 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))
        self.down3 = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3))
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(c3 * (resolution // 8) ** 2, hidden_dim), nn.LeakyReLU(0.2))
        self._sizes = (2, 1, 2, 3, len(self.class_names), len(self.colour_names))
        self.heads = nn.Linear(hidden_dim, sum(self._sizes))
        self.mask_lateral = nn.ModuleList(nn.Conv2d(c, c0, 1) for c in (c0, c1, c2))
        self.mask_out = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(c0, 1, 3, 1, 1))
        low, high = (float(v) for v in elevation_range)
        self.register_buffer("elevation_centre", torch.tensor((low + high) / 2))
        self.register_buffer("elevation_half", torch.tensor((high - low) / 2))
        ranges = torch.tensor([[float(v) for v in r] for r in translation_ranges])
        self.register_buffer("translation_centre", ranges.mean(dim=1))
        self.register_buffer("translation_half", (ranges[:, 1] - ranges[:, 0]) / 2)

    def resize(self, images: Float[Tensor, "B C H W"]) -> Float[Tensor, "B C h w"]:
        """Images (or masks) to the evaluator's resolution (area averaging down, bilinear up)."""
        if images.shape[-1] == self.resolution and images.shape[-2] == self.resolution:
            return images
        mode = "area" if images.shape[-1] > self.resolution else "bilinear"
        kwargs = {} if mode == "area" else {"align_corners": False}
        return F.interpolate(images, size=(self.resolution, self.resolution), mode=mode, **kwargs)

    def forward(self, images: Float[Tensor, "B 3 H W"]) -> EvaluatorOutput:
        """Images in [-1, 1] (any size) to raw head outputs."""
        f0 = self.stem(self.resize(images))
        f1 = self.down1(f0)
        f2 = self.down2(f1)
        heading, elevation, azimuth, translation, classes, colours = self.heads(self.trunk(self.down3(f2))).split(
            self._sizes, dim=1
        )
        size = f0.shape[-2:]
        mask = sum(
            F.interpolate(lateral(f), size=size, mode="bilinear", align_corners=False)
            for lateral, f in zip(self.mask_lateral, (f0, f1, f2), strict=True)
        )
        return EvaluatorOutput(heading, elevation[:, 0], azimuth, translation, classes, colours, self.mask_out(mask))

    @torch.no_grad()
    def read(self, images: Float[Tensor, "B 3 H W"]) -> Reading:
        out = self(images)

        def degrees(cos_sin: Tensor) -> Tensor:
            return torch.rad2deg(torch.atan2(cos_sin[:, 1], cos_sin[:, 0]))

        return Reading(
            heading_deg=degrees(out.heading),
            elevation_deg=self.elevation_centre + self.elevation_half * out.elevation,
            azimuth_deg=degrees(out.azimuth),
            translation=self.translation_centre + self.translation_half * out.translation,
            class_index=out.class_logits.argmax(dim=1),
            colour_index=out.colour_logits.argmax(dim=1),
            mask=torch.sigmoid(out.mask_logits),
        )

    def arguments(self) -> dict:
        """The constructor's arguments (saved with the weights)."""
        return dict(self._arguments)


@dataclass(frozen=True)
class LoadedEvaluator:
    evaluator: Evaluator  # in eval mode
    report: dict  # held-out errors, training settings and the dataset it was trained on
    path: Path


def save_evaluator(evaluator: Evaluator, report: dict, path: str | Path) -> Path:
    """Write the weights, constructor arguments and report atomically; returns the file written."""
    return save_reader(evaluator, EVALUATOR_FILE, report, path)


def load_evaluator(path: str | Path) -> LoadedEvaluator:
    """Read an evaluator file (``weights_only=True``); a one-line EvaluatorError names the file."""
    evaluator, report = load_reader(path, EVALUATOR_FILE, lambda arguments: Evaluator(**arguments))
    return LoadedEvaluator(evaluator, report, Path(path))
