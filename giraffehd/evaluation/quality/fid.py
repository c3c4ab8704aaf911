"""FID and KID of generated images against real images, with clean-fid's clean protocol, offline.

The parts: inception.py (the offline Inception network and clean-fid's resize), fid_features.py (image files,
generated images, batches and the reference cache), fid_score.py (FID and KID from features), fid_floor.py (the
reference set and its real-against-real floor), fid_resize.py (scoring images at another resolution),
fid_protocol.py (the fidelity protocol and how a figure departs from it). This module runs them in order for
one generator and one reference set.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float
from PIL import Image

from giraffehd.evaluation.quality.fid_features import (
    default_cache_dir,
    reference_features,
    reference_files,
    sample_features,
)
from giraffehd.evaluation.quality.fid_floor import ReferenceSet
from giraffehd.evaluation.quality.fid_protocol import protocol_deviations
from giraffehd.evaluation.quality.fid_resize import resized_sampler
from giraffehd.evaluation.quality.fid_score import fid_from_features, kid_from_features
from giraffehd.evaluation.quality.inception import load_inception, resolve_weights, weights_sha256

# Images per call of sample_images and per Inception batch: CPU throughput does not grow with the batch
# (docs/evaluation_fid.md), so CPU batches stay small.
DEFAULT_BATCH_SIZE = {"cpu": 8, "cuda": 64}


@dataclass(frozen=True)
class QualityScores:
    """FID and KID of ``num_samples`` generated images against ``num_reference`` real ones (clean-fid)."""

    fid: float
    kid: float  # mean over KID subsets, as cleanfid.fid.compute_kid reports it
    kid_std: float  # standard deviation of the per-subset KID estimates
    num_samples: int
    num_reference: int
    mode: str  # always "clean"
    weights: str  # the Inception file used
    weights_sha256: str
    reference_cache: str  # the .npz holding the reference features
    resize_to: int | None = None  # generated images resized to this many pixels before scoring (None: as made)
    floor_fid: float | None = None  # the same figures for num_samples real images outside the reference
    floor_kid: float | None = None
    floor_kid_std: float | None = None
    floor_source: str | None = None  # where the floor's images come from (None: no floor)
    deviations: tuple[str, ...] | None = None  # departures from the fidelity protocol (empty: none; None: unchecked)


def compute_quality(
    sample_images: Callable[[int, int], Float[torch.Tensor, "B 3 H W"]],
    num_samples: int,
    reference: str | Path | Sequence[str | Path] | ReferenceSet,
    weights: str | Path | None = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    *,
    num_reference: int | None = None,
    cache_dir: str | Path | None = None,
    num_kid_subsets: int = 100,
    seed: int = 0,
    resize_to: int | None = None,
) -> QualityScores:
    """FID and KID (clean-fid, clean mode) of ``num_samples`` generated images against a set of real images.

    ``sample_images(start, count)`` returns generated images ``start .. start + count - 1`` as floats in [0, 1],
    shape (count, 3, H, W); it is called with consecutive ranges, so seeding by index makes the result
    reproducible. ``reference`` is a folder (all images under it, sorted, the first ``num_reference``; None: all),
    a list of image files, or a ``ReferenceSet`` (fid_floor.reference_set), whose floor images are then scored
    too: the first ``num_samples`` of them, against the same reference features. ``resize_to``: resize the
    generated images to this many pixels first (bicubic, antialiased). ``batch_size`` None: 8 on CPU, 64 on
    CUDA; ``device`` None: CUDA when available. ``seed`` draws KID's subsets (the same ones for the floor).
    """
    if num_samples < 2:
        raise ValueError(f"FID needs at least 2 samples, got num_samples={num_samples}")
    device = torch.device(device if device is not None else "cuda" if torch.cuda.is_available() else "cpu")
    batch_size = batch_size or DEFAULT_BATCH_SIZE.get(device.type, DEFAULT_BATCH_SIZE["cpu"])
    path = resolve_weights(weights)
    sha = weights_sha256(path)
    model = load_inception(path, device)
    if isinstance(reference, ReferenceSet):
        if num_reference is not None:
            raise ValueError("num_reference applies to a folder or list; a ReferenceSet has chosen its images")
        files, num_in_set, floor_files = reference.files, reference.num_in_set, reference.floor_files
    else:
        files, floor_files = reference_files(reference, num_reference), None
        num_in_set = len(files) if num_reference is None else len(reference_files(reference))
    if floor_files is not None and len(floor_files) < num_samples:
        raise ValueError(f"the floor has {len(floor_files)} real images, num_samples={num_samples} needs as many")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sizes = set()
    sampler = resized_sampler(sample_images, resize_to)

    def observed(start: int, count: int) -> torch.Tensor:  # sample_features checks the shape, with a clear error
        images = sampler(start, count)
        sizes.add(tuple(images.shape[-2:]))
        if len(sizes) > 1:
            raise ValueError(f"sample_images gave images of several sizes {sorted(sizes)}: one size per set")
        return images

    fake = sample_features(observed, num_samples, model, batch_size, device, progress)
    real = reference_features(files, model, sha, cache, batch_size, device, progress)
    # clean-fid draws KID's subsets with the legacy generator; the floor gets the same draws.
    kid = kid_from_features(fake, real.features, np.random.RandomState(seed), num_kid_subsets)
    floor_fid = floor_kid = None
    if floor_files is not None:
        floor = reference_features(floor_files[:num_samples], model, sha, cache, batch_size, device, progress)
        floor_fid = fid_from_features(floor.features, real.features)
        floor_kid = kid_from_features(floor.features, real.features, np.random.RandomState(seed), num_kid_subsets)
    with Image.open(files[0]) as first:
        reference_size = (first.height, first.width)
    (sample_size,) = sizes
    return QualityScores(
        fid=fid_from_features(fake, real.features),
        kid=kid.mean,
        kid_std=kid.std,
        num_samples=num_samples,
        num_reference=len(files),
        mode="clean",
        weights=str(path),
        weights_sha256=sha,
        reference_cache=str(real.cache_file),
        resize_to=resize_to,
        floor_fid=floor_fid,
        floor_kid=None if floor_kid is None else floor_kid.mean,
        floor_kid_std=None if floor_kid is None else floor_kid.std,
        floor_source=reference.floor_source if floor_files is not None else None,
        deviations=protocol_deviations(
            num_samples, len(files), num_in_set, sample_size, reference_size, floor_files is not None
        ),
    )
