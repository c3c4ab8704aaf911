"""Writes a synthetic dataset: an image folder, a mask folder and one labels file.

Layout of ``output``::

    images/00000000.png ...   RGB, resolution x resolution (the training images: point data.path here)
    masks/00000000.png ...    8-bit foreground coverage (antialiased), same names
    labels.json               settings, classes, palette, and per image its camera and objects

Image i depends only on (seed, i): any image can be re-rendered alone, whatever the batch size. The
dataset is written into a temporary folder beside ``output`` and renamed at the end, so an interrupted
run leaves nothing half-written.
"""

import dataclasses
import json
import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from giraffehd.data.synthetic.renderer import Lighting, render_synthetic
from giraffehd.data.synthetic.shapes import SHAPES
from giraffehd.outputs import check_output_folder
from giraffehd.rendering.camera import intrinsics_from_fov, project_points
from giraffehd.rendering.scene_frames import scene_pose
from giraffehd.scene import SceneParameters, ScenePrior

LABELS_VERSION = 1


@dataclass(frozen=True)
class SyntheticSpec:
    """What to render: classes drawn uniformly per object, colours uniformly from the palette."""

    classes: Sequence[str]
    palette: Mapping[str, Sequence[float | int]]
    lighting: Lighting = Lighting()

    def __post_init__(self) -> None:
        if not self.classes:
            raise ValueError("synthetic.classes must name at least one class")
        unknown = [c for c in self.classes if c not in SHAPES]
        if unknown:
            raise ValueError(f"synthetic.classes: unknown {unknown}; known: {', '.join(SHAPES)}")
        if not self.palette:
            raise ValueError("synthetic.palette must have at least one colour")
        for name, rgb in self.palette.items():
            if len(rgb) != 3 or not all(0 <= float(c) <= 1 for c in rgb):
                raise ValueError(f"synthetic.palette.{name} must be 3 numbers in [0, 1], got {list(rgb)}")


def image_seed(seed: int, index: int) -> int:
    """The seed of image ``index`` of a dataset with ``seed``."""
    return (seed * 1_000_003 + index) % (2**63)


def sample_labels(prior: ScenePrior, spec: SyntheticSpec, seed: int, indices: Sequence[int]):
    """Scene parameters, class indices (B, N) and palette indices (B, N) of the given images."""
    scenes, classes, colours = [], [], []
    for index in indices:
        rng = torch.Generator().manual_seed(image_seed(seed, index))
        scenes.append(prior.sample(1, rng))
        shape = (1, prior.num_objects)
        classes.append(torch.randint(0, len(spec.classes), shape, generator=rng))
        colours.append(torch.randint(0, len(spec.palette), shape, generator=rng))
    return SceneParameters.cat(scenes), torch.cat(classes), torch.cat(colours)


def synthesize(
    output: str | Path,
    prior: ScenePrior,
    spec: SyntheticSpec,
    num_images: int,
    resolution: int,
    seed: int = 0,
    batch_size: int = 64,
    supersampling: int = 2,
    overwrite: bool = False,
) -> Path:
    """Render ``num_images`` images and their labels into ``output``; returns the output folder."""
    output = Path(output)
    if num_images < 1:
        raise ValueError(f"num_images must be at least 1, got {num_images}")
    if not (resolution & (resolution - 1) == 0 and 32 <= resolution <= 256):
        raise ValueError(f"resolution must be a power of two from 32 to 256, got {resolution}")
    for key, value in (("batch_size", batch_size), ("supersampling", supersampling)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be an integer of at least 1, got {value!r}")
    if output.exists() and not overwrite:
        raise ValueError(f"output {output} already exists (set overwrite=true to replace it)")
    # The flat-shaded PNGs compress to well under half a byte per pixel (image and mask together).
    check_output_folder(output, "output", need_bytes=num_images * resolution**2 // 2 + 2**20)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _render_into(staging, prior, spec, num_images, resolution, seed, batch_size, supersampling)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a failed or stopped run leaves no half dataset behind
        raise
    if output.exists():
        shutil.rmtree(output)
    staging.rename(output)
    return output


def _render_into(
    staging: Path,
    prior: ScenePrior,
    spec: SyntheticSpec,
    num_images: int,
    resolution: int,
    seed: int,
    batch_size: int,
    supersampling: int,
) -> None:
    (staging / "images").mkdir(parents=True)
    (staging / "masks").mkdir()

    palette_names = list(spec.palette)
    palette = torch.tensor([[float(c) for c in spec.palette[name]] for name in palette_names])
    records = []
    with ThreadPoolExecutor(max_workers=2) as pool, tqdm(total=num_images, desc="synthesizing", unit="img") as bar:
        pending = []
        for start in range(0, num_images, batch_size):
            indices = range(start, min(start + batch_size, num_images))
            scene, classes, colours = sample_labels(prior, spec, seed, indices)
            images = render_synthetic(
                scene, classes, palette[colours], spec.classes, resolution, spec.lighting, supersampling
            )
            rgb = (images.image * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
            mask = (images.mask[:, 0] * 255).round().to(torch.uint8).numpy()
            for k, index in enumerate(indices):
                name = f"{index:08d}.png"
                pending.append(pool.submit(_write_png, rgb[k], staging / "images" / name))
                pending.append(pool.submit(_write_png, mask[k], staging / "masks" / name))
            records.extend(_records(scene, classes, colours, spec, palette_names, indices, resolution))
            for future in pending:
                future.result()
            pending.clear()
            bar.update(len(indices))
    labels = {
        "version": LABELS_VERSION,
        "resolution": resolution,
        "seed": seed,
        "num_images": num_images,
        "classes": list(spec.classes),
        "palette": {name: [float(c) for c in spec.palette[name]] for name in palette_names},
        "convention": "giraffehd.rendering.camera: +y up, azimuth 0 on +z, angles in degrees, scene units",
        "prior": _describe_prior(prior),
        # What the renderer needs besides the prior to draw the same images again (the FID floor does).
        "lighting": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(spec.lighting).items()},
        "supersampling": supersampling,
        "images": records,
    }
    (staging / "labels.json").write_text(json.dumps(labels, separators=(",", ":")))


def _write_png(array: np.ndarray, path: Path) -> None:
    Image.fromarray(array).save(path, compress_level=1)


def _records(scene, classes, colours, spec, palette_names, indices, resolution) -> list[dict]:
    pose = scene_pose(scene)
    intrinsics = intrinsics_from_fov(scene.camera_fov_deg, resolution, resolution)
    centres = project_points(scene.object_translation, pose, intrinsics).pixels.tolist()
    azimuth, elevation = scene.camera_azimuth_deg.tolist(), scene.camera_elevation_deg.tolist()
    radius, fov = scene.camera_radius.tolist(), scene.camera_fov_deg.tolist()
    rotation, present = scene.object_rotation_deg.tolist(), scene.object_present.tolist()
    translation, scale = scene.object_translation.tolist(), scene.object_scale.tolist()
    classes, colours = classes.tolist(), colours.tolist()

    def rounded(values: list[float], digits: int) -> list[float]:
        return [round(v, digits) for v in values]

    records = []
    for k, index in enumerate(indices):
        objects = [
            {
                "slot": n,
                "class": spec.classes[classes[k][n]],
                "colour": palette_names[colours[k][n]],
                "rotation_deg": round(rotation[k][n], 4),
                "translation": rounded(translation[k][n], 5),
                "scale": rounded(scale[k][n], 5),
                "centre_pixel": rounded(centres[k][n], 3),
            }
            for n in range(scene.num_objects)
            if present[k][n]
        ]
        camera = {
            "azimuth_deg": round(azimuth[k], 4),
            "elevation_deg": round(elevation[k], 4),
            "radius": round(radius[k], 5),
            "fov_deg": round(fov[k], 4),
        }
        name = f"{index:08d}.png"
        records.append({"image": f"images/{name}", "mask": f"masks/{name}", "camera": camera, "objects": objects})
    return records


def _describe_prior(prior: ScenePrior) -> dict:
    def pair(r):
        return [r.low, r.high]

    return {
        "num_objects": prior.num_objects,
        "min_objects": prior.min_objects,
        "azimuth_deg": pair(prior.azimuth_deg),
        "elevation_deg": pair(prior.elevation_deg),
        "radius": pair(prior.radius),
        "fov_deg": pair(prior.fov_deg),
        "rotation_deg": pair(prior.rotation_deg),
        "translation": [pair(r) for r in prior.translation],
        "scale": [pair(r) for r in prior.scale],
        "joint_scale": prior.joint_scale,
    }
