"""A synthetic dataset's ground truth as tensors: the evaluator's training targets and the data's prior.

Reads what ``giraffehd-data synth`` writes (giraffehd/data/synthetic/writer.py): ``images/``, ``masks/``
and ``labels.json``. The targets below are those of single-object scenes (every image shows exactly one
object); :func:`read_dataset` reads multi-object sets too when asked (their settings, prior and renderer).

Targets, in what an image can show:
- heading: the object's rotation relative to the camera, ``rotation_deg - azimuth_deg`` (turning the
  object and moving the camera the other way give the same picture), as (cos, sin);
- elevation and azimuth of the camera, degrees;
- translation in the camera's ground frame: the world translation turned by ``-azimuth`` about +y, so
  that x is the camera's right and z points towards the camera whatever the azimuth;
- class and colour indices; the foreground mask.
Axis legend: B images, H W pixels.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float, Int, UInt8
from PIL import Image
from torch import Tensor
from tqdm import tqdm

from giraffehd.rendering.transforms import rotation_about_up
from giraffehd.scene import ScenePrior


class DatasetError(ValueError):
    """A dataset folder that is missing or is not a synthetic dataset; the message is one line."""


@dataclass(frozen=True)
class SyntheticLabels:
    """The per-image ground truth of B images (single-object scenes)."""

    heading_deg: Float[Tensor, " B"]
    elevation_deg: Float[Tensor, " B"]
    azimuth_deg: Float[Tensor, " B"]
    translation: Float[Tensor, "B 3"]  # camera ground frame (see the module docstring)
    class_index: Int[Tensor, " B"]
    colour_index: Int[Tensor, " B"]


@dataclass(frozen=True)
class SyntheticDataset:
    root: Path
    resolution: int
    classes: list[str]
    palette: dict[str, list[float]]
    prior: ScenePrior  # the prior the images were drawn from (z_dim 1: codes are unused)
    records: list[dict]  # labels.json's per-image entries
    lighting: dict | None  # labels.json's "lighting" when it has one (else the renderer's default)


def view_translation(
    translation: Float[Tensor, "*batch 3"], azimuth_deg: Float[Tensor, "*batch"]
) -> Float[Tensor, "*batch 3"]:
    """World translation expressed in the camera's ground frame (turned by -azimuth about +y)."""
    return (rotation_about_up(-azimuth_deg) @ translation[..., None])[..., 0]


def read_dataset(root: str | Path, single_object: bool = True) -> SyntheticDataset:
    """Check and read ``root/labels.json``; a one-line DatasetError says what is wrong. ``single_object``:
    refuse scenes of several objects (what :func:`label_tensors` and the car evaluator read)."""
    root = Path(root)
    labels_file = root / "labels.json"
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root} (make one with: giraffehd-data synth)")
    if not labels_file.is_file():
        raise DatasetError(f"{root} has no labels.json: not a synthetic dataset written by giraffehd-data synth")
    try:
        labels = json.loads(labels_file.read_text())
        prior = ScenePrior(z_dim=1, **labels["prior"])
        records, classes, palette = labels["images"], list(labels["classes"]), dict(labels["palette"])
        resolution = int(labels["resolution"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"cannot read {labels_file}: {' '.join(str(error).split())[:200]}") from None
    if not records:
        raise DatasetError(f"{labels_file} lists no images")
    if single_object and (prior.num_objects != 1 or prior.min_objects not in (None, 1)):
        raise DatasetError(f"{root}: the evaluator supports one object per image, the dataset has {prior.num_objects}")
    return SyntheticDataset(root, resolution, classes, palette, prior, records, labels.get("lighting"))


def label_tensors(dataset: SyntheticDataset, indices: list[int] | None = None) -> SyntheticLabels:
    records = dataset.records if indices is None else [dataset.records[i] for i in indices]
    objects = [r["objects"][0] for r in records]
    azimuth = torch.tensor([r["camera"]["azimuth_deg"] for r in records])
    rotation = torch.tensor([o["rotation_deg"] for o in objects])
    translation = torch.tensor([o["translation"] for o in objects])
    colours = list(dataset.palette)
    return SyntheticLabels(
        heading_deg=rotation - azimuth,
        elevation_deg=torch.tensor([r["camera"]["elevation_deg"] for r in records]),
        azimuth_deg=azimuth,
        translation=view_translation(translation, azimuth),
        class_index=torch.tensor([dataset.classes.index(o["class"]) for o in objects]),
        colour_index=torch.tensor([colours.index(o["colour"]) for o in objects]),
    )


def load_pixels(
    dataset: SyntheticDataset, indices: list[int] | None = None, progress: bool = True
) -> tuple[UInt8[Tensor, "B 3 H W"], UInt8[Tensor, "B 1 H W"]]:
    """Images and masks as uint8 tensors (in memory: 10,000 images at 32 px take 40 MB)."""
    records = dataset.records if indices is None else [dataset.records[i] for i in indices]
    images, masks = [], []
    for record in tqdm(records, desc="reading images", unit="img", disable=not progress):
        try:
            with Image.open(dataset.root / record["image"]) as image:
                images.append(np.asarray(image.convert("RGB")))
            with Image.open(dataset.root / record["mask"]) as mask:
                masks.append(np.asarray(mask.convert("L")))
        except OSError as error:
            raise DatasetError(
                f"cannot read an image of {dataset.root}: {' '.join(str(error).split())[:200]}"
            ) from None
    image_tensor = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return image_tensor, torch.from_numpy(np.stack(masks))[:, None]
