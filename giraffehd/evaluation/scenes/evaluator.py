"""The scene evaluator: a small fully convolutional network that finds and reads every object of a
multi-object image (the CLEVR-like set), so that a generator's scenes can be counted and checked.

Single-object readers regress one value per image; a scene has a varying number of objects, so this one
predicts per pixel and groups pixels into objects afterwards (CenterNet-style):
- a centre heatmap, peaking at each visible object's projected centre;
- class logits (background first, then the classes): the foreground and what each pixel shows;
- colour logits over the palette;
- an offset from each pixel to the projected centre of the object it shows.
:func:`decode_scenes` (pure, no parameters) turns these into objects: heatmap peaks are the objects, each
foreground pixel joins the peak nearest to where its offset points, and an object's class and colour are
the argmax of its pixels' summed probabilities. Centres are in the pixel convention of
giraffehd.rendering.camera (pixel (i, j) has its centre at (j + 0.5, i + 0.5)), the convention of the
dataset's ``centre_pixel``. Images of any size are resized to the evaluator's resolution and read back
in the input's pixels.

Axis legend: B images, K objects found in one image, L labels (background + classes), P palette colours,
H W pixels of the input, h w pixels of the evaluator.
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn
from torch.nn import functional as F

from giraffehd.evaluation.car.evaluator import EvaluatorError
from giraffehd.networks.readers import ReaderFile, load_reader, save_reader

SCENE_EVALUATOR_FORMAT = "giraffehd-scene-evaluator-1"
TRAIN_COMMAND = "giraffehd-train-scene-evaluator"
SCENE_EVALUATOR_FILE = ReaderFile(
    SCENE_EVALUATOR_FORMAT, "scene evaluator", f"train one with: {TRAIN_COMMAND}", EvaluatorError
)
OFFSET_SCALE = 8.0  # the offset head's raw output times this is in pixels: raw targets stay near [-1, 1]


@dataclass(frozen=True)
class SceneHeads:
    """Raw per-pixel outputs at the evaluator's resolution (what the loss and the decoding read)."""

    centre_logits: Float[Tensor, "B 1 h w"]
    class_logits: Float[Tensor, "B L h w"]  # label 0 is the background, label 1 + k is class k
    colour_logits: Float[Tensor, "B P h w"]
    offsets: Float[Tensor, "B 2 h w"]  # (right, down) pixels from the pixel's centre to its object's centre


@dataclass(frozen=True)
class ObjectReading:
    """What was read from ONE image: K objects."""

    centres: Float[Tensor, "K 2"]  # projected centres, (x, y) pixels of the input image
    class_index: Int[Tensor, " K"]
    colour_index: Int[Tensor, " K"]
    masks: Bool[Tensor, "K H W"]  # per-object masks at the input image's resolution, disjoint

    @property
    def count(self) -> int:
        return self.centres.shape[0]


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution, batch norm (training converges far sooner with it), leaky ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels), nn.LeakyReLU(0.2)
    )


class SceneEvaluator(nn.Module):
    """A U-Net: encoder stages at 1, 1/2, 1/4 and 1/8 of the resolution, a decoder that climbs back with
    skip connections, and 1x1 heads at the full resolution (object edges decide the mask IoU)."""

    def __init__(
        self,
        class_names: Sequence[str],
        colour_names: Sequence[str],
        resolution: int = 64,
        channels: Sequence[int] = (16, 32, 64, 64),
        peak_threshold: float | int = 0.3,
    ) -> None:
        super().__init__()
        if resolution < 16 or resolution % 8:
            raise ValueError(f"scene evaluator resolution must be a multiple of 8 from 16, got {resolution}")
        if len(channels) != 4:
            raise ValueError(f"scene evaluator channels must list 4 stage widths, got {list(channels)}")
        if not class_names or not colour_names:
            raise ValueError("a scene evaluator needs at least one class and one palette colour")
        self.classes, self.palette, self.resolution = list(class_names), list(colour_names), resolution
        self.report: dict = {}  # the training report (held-out figures, settings), saved with the weights
        self._arguments = {
            "class_names": self.classes,
            "colour_names": self.palette,
            "resolution": resolution,
            "channels": [int(c) for c in channels],
        }
        self.set_peak_threshold(peak_threshold)
        c0, c1, c2, c3 = channels
        self.encode0 = _conv(3, c0)
        self.encode1 = nn.Sequential(_conv(c0, c1, 2), _conv(c1, c1))
        self.encode2 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))
        self.encode3 = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3), _conv(c3, c3))
        self.decode2 = _conv(c3 + c2, c2)
        self.decode1 = _conv(c2 + c1, c1)
        self.decode0 = _conv(c1 + c0, c0)
        self._sizes = (1, 1 + len(self.classes), len(self.palette), 2)
        self.heads = nn.Conv2d(c0, sum(self._sizes), 1)
        with torch.no_grad():  # the heatmap starts at 1% everywhere (CenterNet): few pixels are centres
            self.heads.bias[0] = -4.6

    def set_peak_threshold(self, threshold: float | int) -> None:
        """The heatmap probability a peak must exceed to be an object (training chooses it; it is saved)."""
        if not 0 < threshold < 1:
            raise ValueError(f"scene evaluator peak_threshold must be in (0, 1), got {threshold}")
        self.peak_threshold = float(threshold)
        self._arguments["peak_threshold"] = self.peak_threshold

    def resize(self, images: Float[Tensor, "B C H W"]) -> Float[Tensor, "B C h w"]:
        """Images to the evaluator's resolution (area averaging down, bilinear up)."""
        return _resized(images, (self.resolution, self.resolution))

    def forward(self, images: Float[Tensor, "B 3 H W"]) -> SceneHeads:
        """Images in [0, 1] (any size) to raw head outputs at the evaluator's resolution."""
        f0 = self.encode0(self.resize(images))
        f1 = self.encode1(f0)
        f2 = self.encode2(f1)
        f3 = self.encode3(f2)
        g2 = self.decode2(torch.cat([_doubled(f3), f2], dim=1))
        g1 = self.decode1(torch.cat([_doubled(g2), f1], dim=1))
        g0 = self.decode0(torch.cat([_doubled(g1), f0], dim=1))
        centre, classes, colours, offsets = self.heads(g0).split(self._sizes, dim=1)
        return SceneHeads(centre, classes, colours, offsets * OFFSET_SCALE)

    def arguments(self) -> dict:
        """The constructor's arguments (saved with the weights)."""
        return dict(self._arguments)


def _doubled(x: Float[Tensor, "B C h w"]) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def _resized(x: Float[Tensor, "B C H W"], size: tuple[int, int]) -> Float[Tensor, "B C h w"]:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def find_peaks(centre_logits: Float[Tensor, "1 h w"], threshold: float | int) -> Int[Tensor, "K 2"]:
    """(row, column) of the heatmap's local maxima (3x3) whose probability exceeds ``threshold``."""
    heat = centre_logits.sigmoid()
    peaks = (heat == F.max_pool2d(heat, 3, stride=1, padding=1)) & (heat > threshold)
    return peaks[0].nonzero()


def decode_one(
    centre_logits: Float[Tensor, "1 h w"],
    class_logits: Float[Tensor, "L h w"],
    colour_logits: Float[Tensor, "P h w"],
    offsets: Float[Tensor, "2 h w"],
    image_size: tuple[int, int],
    threshold: float | int,
) -> ObjectReading:
    """One image's head outputs to its objects (see the module docstring)."""
    h, w = centre_logits.shape[-2:]
    peaks = find_peaks(centre_logits, threshold)
    k = peaks.shape[0]
    peak_xy = peaks.flip(1).to(offsets.dtype) + 0.5
    label_probabilities = class_logits.softmax(dim=0)
    foreground_probability = 1 - label_probabilities[0]
    foreground = foreground_probability > 0.5
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pixel_xy = torch.stack([cols, rows], dim=-1).to(offsets.dtype) + 0.5
    votes = pixel_xy + offsets.permute(1, 2, 0)  # (h, w, 2): where each pixel says its object's centre is
    owner = torch.full((h, w), -1, dtype=torch.long)
    if k:
        owner[foreground] = torch.cdist(votes[foreground], peak_xy).argmin(dim=1)
    members = owner[None] == torch.arange(k)[:, None, None]  # (K, h, w)
    # Centre: the mean vote of the object's pixels near its peak (sub-pixel; far votes belong to
    # neighbours whose peak was missed); the peak itself where no vote is near.
    near = members & ((votes[None] - peak_xy[:, None, None]).norm(dim=-1) < 2.5)
    weight = near.to(offsets.dtype) * foreground_probability
    total = weight.sum(dim=(1, 2))
    centres = torch.where(
        total[:, None] > 0,
        torch.einsum("khw,hwc->kc", weight, votes) / total.clamp(min=1e-8)[:, None],
        peak_xy,
    )
    # Class and colour: summed probabilities over the object's pixels; the peak pixel's alone if it has none.
    at_peak = torch.zeros_like(members)
    at_peak[torch.arange(k), peaks[:, 0], peaks[:, 1]] = True
    voters = torch.where(members.flatten(1).any(dim=1)[:, None, None], members, at_peak).to(offsets.dtype)
    class_index = torch.einsum("khw,lhw->kl", voters, label_probabilities[1:]).argmax(dim=1)
    colour_index = torch.einsum("khw,phw->kp", voters, colour_logits.softmax(dim=0)).argmax(dim=1)
    # Masks at the input's size: each pixel's owner one-hot, resized; over 0.5 keeps them disjoint.
    masks = _resized(members[None].to(offsets.dtype), image_size)[0] > 0.5
    scale = torch.tensor([image_size[1] / w, image_size[0] / h], dtype=offsets.dtype)
    return ObjectReading(centres * scale, class_index, colour_index, masks)


def decode_scenes(heads: SceneHeads, image_size: tuple[int, int], threshold: float | int) -> list[ObjectReading]:
    """Every image's objects, with centres and masks in an input image of ``image_size`` (H, W)."""
    return [
        decode_one(
            heads.centre_logits[i],
            heads.class_logits[i],
            heads.colour_logits[i],
            heads.offsets[i],
            image_size,
            threshold,
        )
        for i in range(heads.centre_logits.shape[0])
    ]


@torch.no_grad()
def read_scenes(
    evaluator: SceneEvaluator, images: Float[Tensor, "B 3 H W"], batch_size: int = 64
) -> list[ObjectReading]:
    """The objects of each image (RGB in [0, 1], any size), read ``batch_size`` images at a time."""
    device = next(evaluator.parameters()).device
    size = (images.shape[-2], images.shape[-1])
    was_training = evaluator.training
    evaluator.eval()  # batch norm's running statistics: a reading neither depends on nor changes the batch
    readings = []
    for start in range(0, images.shape[0], batch_size):
        heads = evaluator(images[start : start + batch_size].to(device))
        heads = SceneHeads(*(getattr(heads, f).float().cpu() for f in SceneHeads.__dataclass_fields__))
        readings.extend(decode_scenes(heads, size, evaluator.peak_threshold))
    evaluator.train(was_training)
    return readings


def save_scene_evaluator(evaluator: SceneEvaluator, path: str | Path, report: dict | None = None) -> Path:
    """Write the weights, constructor arguments and (optionally) the training report atomically."""
    return save_reader(evaluator, SCENE_EVALUATOR_FILE, report if report is not None else evaluator.report, path)


def load_scene_evaluator(path: str | Path, device: torch.device | str = "cpu") -> SceneEvaluator:
    """Read a scene evaluator file (``weights_only=True``) in eval mode, its training report as ``.report``;
    a one-line EvaluatorError names the file."""
    kind = dataclasses.replace(SCENE_EVALUATOR_FILE, how_to_make=f"train one with: {TRAIN_COMMAND} output={path}")
    evaluator, report = load_reader(path, kind, lambda arguments: SceneEvaluator(**arguments))
    evaluator.report = report
    return evaluator.to(device)
