"""The reference set of FID/KID and its real-against-real floor: real images that are not in the reference.

FID and KID of a finite sample are biased, by an amount that depends on the counts and the data; the floor
is that amount, measured: ``num_samples`` real images against the same reference, scored exactly as the
generated ones are. A generator indistinguishable from the data would score about the floor.

- A synthetic dataset (``labels.json``, written by ``giraffehd-data synth``): the reference is every image of
  ``<dataset>/images``; the floor's images are rendered fresh by the dataset's own renderer and settings with
  another seed (default: the dataset's seed + 1), so no floor image is a reference image. They are written
  once, as a synthetic dataset of their own, into ``<dataset>_fid_floor_seed<seed>/`` beside the dataset
  (never inside it, so that listing the dataset never picks them up), and reused by later calls.
- A plain image folder has no renderer: ``num_floor`` of its images, drawn with the floor seed, are held out
  for the floor and the reference is the rest. The reference then depends on ``num_floor``: compare only
  figures measured with the same count (as the protocol asks anyway).
"""

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from giraffehd.data.synthetic.renderer import Lighting
from giraffehd.data.synthetic.writer import SyntheticSpec, image_seed, synthesize
from giraffehd.evaluation.quality.fid_features import reference_files
from giraffehd.scene import ScenePrior

# Settings a floor folder must share with its dataset to be reused (the seed and count are the floor's own).
_SHARED_LABELS = ("resolution", "classes", "palette", "prior", "lighting", "supersampling")
# A reproduced dataset image is bit-identical on the machine that made the set, but floating point may round
# differently on another machine or library version: allow that much, in 8-bit levels, and no more.
_REPRODUCTION_TOLERANCE = 2


@dataclass(frozen=True)
class ReferenceSet:
    """The reference images of FID/KID and the real images of its floor."""

    files: list[Path]  # the reference images
    num_in_set: int  # images the reference set holds (the protocol uses all of them)
    floor_files: list[Path] | None  # real images not among ``files`` (None: no floor)
    floor_source: str | None  # where the floor's images come from, in words


def synthetic_root(reference: str | Path) -> Path | None:
    """The synthetic dataset ``reference`` names (its folder or its images/ folder), or None for a plain folder."""
    folder = Path(reference)
    if (folder / "labels.json").is_file():
        return folder
    if folder.name == "images" and (folder.parent / "labels.json").is_file():
        return folder.parent
    return None


def floor_folder(root: Path, seed: int) -> Path:
    """Where the floor images of synthetic dataset ``root`` rendered with ``seed`` are kept: beside it."""
    return root.parent / f"{root.name}_fid_floor_seed{seed}"


def seeds_overlap(seed_a: int, num_a: int, seed_b: int, num_b: int) -> bool:
    """Whether datasets rendered with seeds ``seed_a`` (``num_a`` images) and ``seed_b`` share an image seed."""
    first_a, first_b = image_seed(seed_a, 0), image_seed(seed_b, 0)
    return first_a < first_b + num_b and first_b < first_a + num_a


def holdout_split(files: list[Path], num_holdout: int, rng: np.random.Generator) -> tuple[list[Path], list[Path]]:
    """(the rest, ``num_holdout`` files drawn from ``rng``), each in the given order; disjoint, together all."""
    if not 0 < num_holdout <= len(files) - 2:
        raise ValueError(f"cannot hold out {num_holdout} of {len(files)} images and keep at least 2 as reference")
    held = set(rng.choice(len(files), num_holdout, replace=False).tolist())
    rest = [f for i, f in enumerate(files) if i not in held]
    return rest, [f for i, f in enumerate(files) if i in held]


def _read_labels(root: Path) -> dict:
    try:
        labels = json.loads((root / "labels.json").read_text())
        return {
            **labels,
            "lighting": labels.get("lighting"),
            "supersampling": labels.get("supersampling"),
            "seed": int(labels["seed"]),
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"cannot read {root / 'labels.json'}: {' '.join(str(error).split())[:200]}") from None


def _render(labels: dict, output: Path, num_images: int, seed: int) -> None:
    """Render ``num_images`` images with the renderer and settings ``labels`` records, seed ``seed``."""
    lighting = {k: tuple(v) if isinstance(v, list) else v for k, v in (labels["lighting"] or {}).items()}
    spec = SyntheticSpec(labels["classes"], labels["palette"], Lighting(**lighting))
    prior = ScenePrior(z_dim=1, **labels["prior"])
    # Sets written before these were recorded used the defaults of their day.
    supersampling = int(labels["supersampling"] or 2)
    synthesize(
        output, prior, spec, num_images, int(labels["resolution"]), seed, supersampling=supersampling, overwrite=True
    )


def _check_reproduces(root: Path, labels: dict) -> None:
    """Re-render the dataset's first images: the floor is only fair if its renderer is the dataset's own."""
    count = min(2, int(labels["num_images"]))
    with tempfile.TemporaryDirectory(prefix=".fid_floor_check_", dir=root.parent) as scratch:
        _render(labels, Path(scratch) / "check", count, labels["seed"])
        for name in (f"{i:08d}.png" for i in range(count)):
            original = np.asarray(Image.open(root / "images" / name).convert("RGB"), dtype=np.int16)
            again = np.asarray(Image.open(Path(scratch) / "check" / "images" / name).convert("RGB"), dtype=np.int16)
            if original.shape != again.shape or np.abs(original - again).max() > _REPRODUCTION_TOLERANCE:
                raise ValueError(
                    f"the renderer does not reproduce {root / 'images' / name} from its labels.json (made with other "
                    "lighting or supersampling?): cannot render a fair floor; use fid.floor=false"
                )


def render_floor(root: str | Path, num_images: int, seed: int | None = None) -> tuple[list[Path], str]:
    """``num_images`` fresh images of synthetic dataset ``root`` rendered with ``seed`` (None: its seed + 1),
    from the folder beside it when it already holds them; returns (files, a description)."""
    root = Path(root)
    labels = _read_labels(root)
    seed = labels["seed"] + 1 if seed is None else seed
    if seeds_overlap(labels["seed"], int(labels["num_images"]), seed, num_images):
        raise ValueError(
            f"floor seed {seed} would render images of {root} (seed {labels['seed']}): choose another floor seed"
        )
    folder = floor_folder(root, seed)
    cached = _read_labels(folder) if (folder / "labels.json").is_file() else None
    fits = (
        cached is not None
        and cached["seed"] == seed
        and int(cached["num_images"]) >= num_images
        and all(cached[key] == labels[key] for key in _SHARED_LABELS)
    )
    if not fits:
        _check_reproduces(root, labels)
        _render(labels, folder, num_images, seed)
    files = reference_files(folder / "images")[:num_images]
    return files, f"{num_images} images rendered with seed {seed} into {folder}"


def reference_set(
    reference: str | Path,
    num_reference: int | None = None,
    num_floor: int | None = None,
    floor_seed: int | None = None,
) -> ReferenceSet:
    """The reference images (the first ``num_reference``; None: all) and ``num_floor`` real images outside them
    (None: no floor). ``reference``: a synthetic dataset (its folder or images/) or a plain image folder."""
    root = synthetic_root(reference)
    if root is not None:
        everything = reference_files(root / "images")
        floor = render_floor(root, num_floor, floor_seed) if num_floor is not None else (None, None)
    else:
        everything = reference_files(reference)
        floor = (None, None)
        if num_floor is not None:
            seed = 1 if floor_seed is None else floor_seed
            everything, held = holdout_split(everything, num_floor, np.random.default_rng(seed))
            floor = (held, f"{num_floor} images of {reference} held out of the reference (seed {seed})")
    if num_reference is not None and not 2 <= num_reference <= len(everything):
        raise ValueError(
            f"num_reference must be from 2 to the {len(everything)} images of {reference}, got {num_reference}"
        )
    return ReferenceSet(everything[:num_reference], len(everything), *floor)
